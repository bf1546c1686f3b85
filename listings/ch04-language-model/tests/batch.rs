//! The fast training path computes what the book's path computes: the
//! loss and gradients of a stacked minibatch equal the mean over its
//! windows of `Model::loss_and_grads`, and `Trainer::step_fast` follows
//! `Trainer::step`.

use ch04_language_model::model::{Config, Model};
use ch04_language_model::train::{TrainConfig, Trainer};
use notation::{Error, ParamsExt};
use rand::Rng;

/// f64: the same sums in another order (whole-batch products and
/// cross-entropy mean instead of per-window ones), a few ulp of values of
/// size up to about 10.
const F64_TOL: f64 = 1e-12;
/// f64 after `STEPS` AdamW steps: Adam divides by √v̂, so rounding
/// differences of 1e-16 in small gradients grow in the step (observed
/// 1.4e-11 with `--nocapture`), while a wrong window or a missed gradient
/// changes parameters by about η = 1e-2 per step.
const STEP_TOL: f64 = 1e-9;
const STEPS: usize = 5;

fn config() -> Config {
    Config {
        vocab_size: 11,
        context: 12,
        d_model: 16,
        n_heads: 4,
        n_layers: 2,
        d_ff: 24,
    }
}

fn data(len: usize, seed: u64) -> Vec<usize> {
    let mut rng = ch02_transformer::random::rng(seed);
    (0..len)
        .map(|_| rng.random_range(0..config().vocab_size))
        .collect()
}

fn max_diff(
    a: &[&nalgebra::DMatrix<f64>],
    b: &[&nalgebra::DMatrix<f64>],
) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            assert_eq!(x.shape(), y.shape());
            (*x - *y).abs().max()
        })
        .fold(0.0, f64::max)
}

#[test]
fn batch_equals_mean_of_windows() {
    let model = Model::<f64>::new(config(), 3).unwrap();
    let tokens = data(200, 5);
    let n = config().context;
    let windows: Vec<(&[usize], &[usize])> = [0, 17, 40, 41, 150]
        .iter()
        .map(|&s| (&tokens[s..s + n], &tokens[s + 1..s + n + 1]))
        .collect();
    let (loss, grads) = model.batch_loss_and_grads(&windows).unwrap();
    let b = windows.len() as f64;
    let mut mean_loss = 0.0;
    let mut mean_grads: Option<Vec<nalgebra::DMatrix<f64>>> = None;
    for (x, y) in &windows {
        let (l, g) = model.loss_and_grads(x, y).unwrap();
        mean_loss += l / b;
        let g: Vec<_> = (&g).into_iter().map(|m| m / b).collect();
        mean_grads = Some(match mean_grads {
            None => g,
            Some(acc) => acc.iter().zip(&g).map(|(a, g)| a + g).collect(),
        });
    }
    assert!((loss - mean_loss).abs() < F64_TOL, "{loss} vs {mean_loss}");
    let mean_grads = mean_grads.unwrap();
    let d = max_diff(&grads.params(), &mean_grads.iter().collect::<Vec<_>>());
    eprintln!("largest gradient difference {d:e}");
    assert!(d < F64_TOL, "largest gradient difference {d:e}");
    // The gradient is not trivially small: the comparison means something.
    let largest = grads.params().into_iter().map(|g| g.abs().max());
    assert!(largest.fold(0.0, f64::max) > 1e-3);
}

#[test]
fn step_fast_follows_step() {
    let tokens = data(300, 7);
    let tc = TrainConfig {
        steps: 50,
        batch_size: 3,
        lr: 1e-2,
        warmup: 2,
        weight_decay: 0.01,
        seed: 9,
    };
    let model = Model::<f64>::new(config(), 4).unwrap();
    let mut book = Trainer::new(model.clone(), tc).unwrap();
    let mut fast = Trainer::new(model, tc).unwrap();
    for step in 0..STEPS {
        let (l_book, l_fast) = (
            book.step(&tokens).unwrap(),
            fast.step_fast(&tokens).unwrap(),
        );
        assert!((l_book - l_fast).abs() < F64_TOL, "step {step}");
    }
    let d = max_diff(&book.model.params(), &fast.model.params());
    eprintln!("parameters {d:e} apart after {STEPS} steps");
    assert!(d < STEP_TOL, "parameters {d:e} apart after {STEPS} steps");
    assert_eq!(fast.steps_taken(), STEPS);
}

#[test]
fn batch_refuses_bad_windows() {
    let model = Model::<f64>::new(config(), 3).unwrap();
    let tokens = data(100, 5);
    assert_eq!(
        model.batch_loss_and_grads(&[]).unwrap_err(),
        Error::Empty { what: "windows" }
    );
    let uneven = [
        (&tokens[0..12], &tokens[1..13]),
        (&tokens[20..30], &tokens[21..31]),
    ];
    let err = model.batch_loss_and_grads(&uneven).unwrap_err();
    assert!(err.to_string().contains("window 1"), "{err}");
    let mut bad = tokens[0..12].to_vec();
    bad[4] = config().vocab_size;
    let windows = [(&bad[..], &tokens[1..13])];
    assert_eq!(
        model.batch_loss_and_grads(&windows).unwrap_err(),
        model.loss_and_grads(&bad, &tokens[1..13]).unwrap_err()
    );
    let mut bad_target = tokens[1..13].to_vec();
    bad_target[2] = 99;
    let windows = [(&tokens[0..12], &bad_target[..])];
    assert!(model.batch_loss_and_grads(&windows).is_err());
}
