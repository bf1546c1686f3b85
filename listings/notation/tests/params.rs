//! The one traversal of parameters: names, order, and that the readable
//! and the writable walk agree.

use nalgebra::DMatrix;
use notation::{Params, ParamsExt};

/// A layer with a weight matrix and a bias row.
struct Layer<T: notation::Real> {
    w: DMatrix<T>,
    b: DMatrix<T>,
}

notation::params!(Layer<T> { "w" => w, "b" => b });

/// A model of two parts: a list of layers and a lone matrix.
struct Model<T: notation::Real> {
    emb: DMatrix<T>,
    layers: Vec<Layer<T>>,
}

notation::params!(Model<T> { "emb" => emb, "layers" => layers });

fn layer(d_in: usize, d_out: usize, value: f64) -> Layer<f64> {
    Layer {
        w: DMatrix::from_element(d_in, d_out, value),
        b: DMatrix::from_element(1, d_out, -value),
    }
}

fn model() -> Model<f64> {
    Model {
        emb: DMatrix::zeros(5, 3),
        layers: vec![layer(3, 4, 1.0), layer(4, 3, 2.0)],
    }
}

fn names_mut<T: notation::Real>(p: &mut dyn Params<T>) -> Vec<String> {
    let mut names = Vec::new();
    p.visit_params_mut(&mut |name, _| names.push(name.to_string()));
    names
}

#[test]
fn lists_and_nested_parts_are_named_in_order() {
    let mut m = model();
    let expected = [
        ("emb", (5, 3)),
        ("layers.0.w", (3, 4)),
        ("layers.0.b", (1, 4)),
        ("layers.1.w", (4, 3)),
        ("layers.1.b", (1, 3)),
    ];
    let shapes = m.param_shapes();
    let shapes: Vec<(&str, (usize, usize))> =
        shapes.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    assert_eq!(shapes, expected);
    // The writable walk has the same names in the same order.
    let names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(names_mut(&mut m), names);
    assert_eq!(m.n_matrices(), 5);
    assert_eq!(m.n_params(), 15 + 12 + 4 + 12 + 3);
    // A lone matrix and a list of matrices carry no names of their own.
    let lone = DMatrix::<f64>::zeros(2, 2);
    assert_eq!(lone.param_shapes(), [(String::new(), (2, 2))]);
    let list = vec![DMatrix::<f64>::zeros(1, 2), DMatrix::zeros(3, 1)];
    let shapes: Vec<_> =
        list.param_shapes().into_iter().map(|(_, s)| s).collect();
    assert_eq!(shapes, [(1, 2), (3, 1)]);
}

#[test]
fn the_writable_walk_changes_the_parameters_in_place() {
    let mut m = model();
    for (name, p) in m.named_params_mut() {
        if name.ends_with(".b") {
            p.fill(7.0);
        }
    }
    assert!(m.layers.iter().all(|l| l.b.iter().all(|&x| x == 7.0)));
    assert_eq!(m.layers[1].w[(0, 0)], 2.0);
    // The readable walk sees the same matrices, not copies.
    let p = m.params();
    assert!(std::ptr::eq(p[2], &m.layers[0].b));
}
