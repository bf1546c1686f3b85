//! Prints the numbers of the book's regression section: our softmax
//! regression next to smartcore's `LogisticRegression` on the iris data,
//! and our per-class Gaussian estimates next to `GaussianNB`.
//!
//! ```console
//! cargo run --release -p ch01-probability --example iris
//! cargo run --release -p ch01-probability --example iris -- 10000 0.5
//! ```
//!
//! The optional arguments override the number of epochs and the
//! learning rate of [`GradientDescent::default`].

use ch01_probability::iris::{compare_gaussian_nb, compare_with_smartcore};
use ch01_probability::regression::GradientDescent;

fn main() -> Result<(), ch01_probability::Error> {
    let mut config = GradientDescent::default();
    if let Some(e) = std::env::args().nth(1) {
        config.epochs = e.parse().expect("epochs");
    }
    if let Some(lr) = std::env::args().nth(2) {
        config.learning_rate = lr.parse().expect("learning rate");
    }
    let c = compare_with_smartcore(&config)?;
    println!("{config:?}");
    println!("                     ours        smartcore");
    println!(
        "accuracy         {:>12.4} {:>12.4}",
        c.accuracy.0, c.accuracy.1
    );
    println!("average NLL      {:>12.9} {:>12.9}", c.nll.0, c.nll.1);
    println!(
        "objective (1.22) {:>12.15} {:>12.15}",
        c.objective.0, c.objective.1
    );
    println!(
        "max |p_ours − p_smartcore| = {:.3e}",
        c.max_probability_difference
    );
    println!(
        "max |W_ours − W_smartcore| = {:.3e}",
        (&c.ours.w - &c.smartcore.w).amax()
    );
    println!(
        "max |b_ours − b_smartcore| = {:.3e}",
        (&c.ours.b - &c.smartcore.b).amax()
    );
    let h = &c.history;
    for e in [0, 1, 10, 100, 300, 1000, 2000, h.len() - 1] {
        if e < h.len() {
            println!("epoch {e:>5}: J = {:.12}", h[e]);
        }
    }
    let g = compare_gaussian_nb()?;
    println!(
        "GaussianNB: max |μ̂ − θ| = {:.3e}, max |σ̂² − var| = {:.3e}",
        (&g.mean - &g.smartcore_mean).amax(),
        (&g.variance - &g.smartcore_variance).amax()
    );
    println!(
        "means (ours):\n{:.4}variances (ours):\n{:.4}",
        g.mean, g.variance
    );
    Ok(())
}
