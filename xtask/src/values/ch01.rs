//! Values of chapter 1: the iris numbers, from the same data as the
//! chapter's figures (computed once per build).

use anyhow::Result;
use ch01_probability::iris::compare_gaussian_nb;

use super::{Digits, Entry, Value};
use crate::figures::ch01::{iris_regression, setosa_sepal};

/// The values of chapter 1.
pub const VALUES: &[Entry] = &[
    // The starting value of the objective: log K for K = 3 classes.
    Entry {
        id: "ch01.log3",
        compute: || Ok(Value::Number(3f64.ln(), Digits::Decimals(2))),
    },
    Entry {
        id: "ch01.iris_accuracy_ours",
        compute: || {
            Ok(Value::Number(
                iris_regression()?.accuracy.0,
                Digits::Decimals(4),
            ))
        },
    },
    Entry {
        id: "ch01.iris_accuracy_smartcore",
        compute: || {
            Ok(Value::Number(
                iris_regression()?.accuracy.1,
                Digits::Decimals(4),
            ))
        },
    },
    Entry {
        id: "ch01.iris_correct_ours",
        compute: || correct(iris_regression()?.accuracy.0),
    },
    Entry {
        id: "ch01.iris_correct_smartcore",
        compute: || correct(iris_regression()?.accuracy.1),
    },
    Entry {
        id: "ch01.iris_nll_ours",
        compute: || {
            Ok(Value::Number(iris_regression()?.nll.0, Digits::Decimals(9)))
        },
    },
    Entry {
        id: "ch01.iris_nll_smartcore",
        compute: || {
            Ok(Value::Number(iris_regression()?.nll.1, Digits::Decimals(9)))
        },
    },
    Entry {
        id: "ch01.iris_objective_ours",
        compute: || {
            Ok(Value::Number(
                iris_regression()?.objective.0,
                Digits::Decimals(15),
            ))
        },
    },
    Entry {
        id: "ch01.iris_objective_smartcore",
        compute: || {
            Ok(Value::Number(
                iris_regression()?.objective.1,
                Digits::Decimals(15),
            ))
        },
    },
    Entry {
        id: "ch01.iris_objective_short",
        compute: || {
            Ok(Value::Number(
                iris_regression()?.objective.0,
                Digits::Decimals(3),
            ))
        },
    },
    Entry {
        id: "ch01.iris_max_probability_difference",
        compute: || {
            Ok(Value::Scientific(
                iris_regression()?.max_probability_difference,
                2,
            ))
        },
    },
    Entry {
        id: "ch01.iris_max_weight_difference",
        compute: || {
            let c = iris_regression()?;
            Ok(Value::Scientific((&c.ours.w - &c.smartcore.w).amax(), 2))
        },
    },
    Entry {
        id: "ch01.setosa_sepal_mu",
        compute: || Ok(Value::Number(setosa_sepal()?.1, Digits::Decimals(2))),
    },
    Entry {
        id: "ch01.setosa_sepal_sigma",
        compute: || Ok(Value::Number(setosa_sepal()?.2, Digits::Decimals(2))),
    },
    // Setosa is class 0, petal length feature 2 of the iris data.
    Entry {
        id: "ch01.setosa_petal_mean",
        compute: || {
            Ok(Value::Number(
                compare_gaussian_nb()?.mean[(0, 2)],
                Digits::Decimals(3),
            ))
        },
    },
    Entry {
        id: "ch01.setosa_petal_variance",
        compute: || {
            Ok(Value::Number(
                compare_gaussian_nb()?.variance[(0, 2)],
                Digits::Significant(3),
            ))
        },
    },
];

/// The number of correctly classified flowers of the 150.
fn correct(accuracy: f64) -> Result<Value> {
    let n = ch01_probability::iris::load_iris().1.len() as f64;
    Ok(Value::Count((accuracy * n).round() as u64))
}
