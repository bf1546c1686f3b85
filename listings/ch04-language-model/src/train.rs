//! Training: minibatches of windows from the training text, the average
//! cross-entropy and its gradient, AdamW with warm-up and cosine decay
//! from chapter 3; and the validation loss.
//!
//! Book: section „Training“ / "Training" of chapter 4.

use ch01_probability::cross_entropy::cross_entropy_rows;
use ch03_optimization::Optimizer;
use ch03_optimization::adam::{Adam, AdamConfig, WeightDecay};
use ch03_optimization::schedule::WarmupCosine;
use notation::{Error, ParamsExt, Real, lit};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::{Model, ModelGrads};

/// A window of tokens and its targets, the tokens one position later.
type Window<'d> = (&'d [usize], &'d [usize]);

/// How to train.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// Optimizer steps.
    pub steps: usize,
    /// Windows per step (each `n_ctx` tokens long).
    pub batch_size: usize,
    /// The peak learning rate η_max of the schedule.
    pub lr: f64,
    /// Linear warm-up steps before the cosine decay.
    pub warmup: usize,
    /// Decoupled weight decay λ of AdamW (0 for plain Adam).
    pub weight_decay: f64,
    /// Seed of the weights and of the window positions.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// 600 steps of 16 windows; η_max = 3·10⁻³ (a common value for small
    /// character models, three times Adam's default 10⁻³ because the model
    /// is small and the schedule decays it); 30 warm-up steps (5 %);
    /// λ = 0.01, the default of `torch.optim.AdamW`.
    fn default() -> Self {
        TrainConfig {
            steps: 600,
            batch_size: 16,
            lr: 3e-3,
            warmup: 30,
            weight_decay: 0.01,
            seed: 1,
        }
    }
}

/// The state of a training run: model, optimizer, schedule, random
/// window positions.
pub struct Trainer<T: Real> {
    /// The model being trained.
    pub model: Model<T>,
    config: TrainConfig,
    adam: Adam<T>,
    schedule: WarmupCosine<T>,
    rng: ChaCha8Rng,
}

impl<T: Real> Trainer<T> {
    /// A trainer for `model` with AdamW (ε = 10⁻⁸ outside the root, as
    /// PyTorch) and the warm-up-cosine schedule (η_min = η_max / 10).
    ///
    /// # Errors
    /// `steps ≤ warmup`, a learning rate or weight decay out of range,
    /// `batch_size = 0`.
    pub fn new(model: Model<T>, config: TrainConfig) -> Result<Self, Error> {
        if config.batch_size == 0 {
            return Err(Error::Domain {
                what: "batch size",
                requirement: "≥ 1",
                value: 0.0,
            });
        }
        let mut adam_config = AdamConfig::<T>::pytorch_adamw();
        adam_config.lr = lit(config.lr);
        adam_config.weight_decay = if config.weight_decay > 0.0 {
            WeightDecay::Decoupled(lit(config.weight_decay))
        } else {
            WeightDecay::None
        };
        let adam = Adam::new(adam_config)?;
        let peak = lit(config.lr);
        let schedule = WarmupCosine::new(
            peak,
            peak / lit(10.0),
            config.warmup,
            config.steps,
        )?;
        let rng = ch02_transformer::random::rng(config.seed ^ 0x5eed);
        Ok(Trainer {
            model,
            config,
            adam,
            schedule,
            rng,
        })
    }

    /// The number of steps taken.
    pub fn steps_taken(&self) -> usize {
        self.adam.steps()
    }

    /// `B` windows of `n` tokens at random positions of `data`, each
    /// with its targets, the tokens one position later.
    fn windows<'d>(
        &mut self,
        data: &'d [usize],
    ) -> Result<Vec<Window<'d>>, Error> {
        let n = check_length(data, self.model.config.context)?;
        let windows = (0..self.config.batch_size)
            .map(|_| {
                let s = self.rng.random_range(0..data.len() - n);
                (&data[s..s + n], &data[s + 1..s + n + 1])
            })
            .collect();
        Ok(windows)
    }

    /// Sets the scheduled learning rate of the next step.
    fn schedule_learning_rate(&mut self) -> Result<(), Error> {
        let t = self.adam.steps() + 1;
        self.adam.set_learning_rate(self.schedule.learning_rate(t)?)
    }

    // ANCHOR: train_step
    /// One step: `B` windows at random positions of `data`, the average
    /// loss over their `B · n_ctx` predictions, its gradient by the
    /// backward passes, and one AdamW step (3.13) at the scheduled
    /// learning rate, which updates the model's parameters in place.
    /// Returns the batch loss before the step.
    ///
    /// # Errors
    /// `data` is shorter than `n_ctx + 1` tokens, or a token is `≥ V`.
    pub fn step(&mut self, data: &[usize]) -> Result<T, Error> {
        let windows = self.windows(data)?;
        // The batch loss is the mean over the windows, so is its gradient.
        let scale = T::one() / lit::<T>(windows.len() as f64);
        let (mut loss, mut grads) = (T::zero(), None);
        for (x, y) in windows {
            // Forward: the window's logits and its loss (1.18).
            let cache = self.model.forward(x)?;
            let (l, d_logits) = cross_entropy_rows(&cache.logits, y)?;
            // Backward: the gradient of every parameter.
            let g = self.model.backward(&cache, &(d_logits * scale))?;
            loss += l * scale;
            grads = Some(match grads {
                None => g,
                Some(sum) => add(sum, &g),
            });
        }
        let grads = grads.expect("at least one window");
        // One AdamW step on the model's own matrices, in place.
        self.schedule_learning_rate()?;
        self.adam.step(&mut self.model, &grads)?;
        Ok(loss)
    }
    // ANCHOR_END: train_step

    /// [`step`](Self::step), faster: the same windows (the same random
    /// positions), but their loss and gradient computed with the windows
    /// stacked into one matrix by [`Model::batch_loss_and_grads`], and
    /// the AdamW step by `Adam::step_fast`. The same mathematics, summed
    /// in another order: a test checks that both steps agree.
    ///
    /// # Errors
    /// Those of [`step`](Self::step).
    pub fn step_fast(&mut self, data: &[usize]) -> Result<T, Error> {
        let windows = self.windows(data)?;
        let (loss, grads) = self.model.batch_loss_and_grads(&windows)?;
        self.schedule_learning_rate()?;
        self.adam.step_fast(&mut self.model, &grads)?;
        Ok(loss)
    }
}

/// `sum + g`, matrix by matrix, in the order of their traversal.
fn add<T: Real>(mut sum: ModelGrads<T>, g: &ModelGrads<T>) -> ModelGrads<T> {
    for (s, g) in sum.params_mut().into_iter().zip(g) {
        *s += g;
    }
    sum
}

/// Checks that `data` holds at least one window of `n` tokens and its
/// targets; returns `n`.
fn check_length(data: &[usize], n: usize) -> Result<usize, Error> {
    if data.len() < n + 1 {
        return Err(Error::Shape {
            what: "training tokens",
            expected: format!("at least n_ctx + 1 = {}", n + 1),
            got: format!("{}", data.len()),
        });
    }
    Ok(n)
}

/// The average cross-entropy (nats per token) of `model` on `data`, read
/// in consecutive windows of `n_ctx` predictions (the first prediction of
/// each window sees only one character). At most `max_windows` windows,
/// evenly spread, are used (`usize::MAX` for all).
///
/// # Errors
/// `data` has fewer than 2 tokens, or a token is `≥ V`.
pub fn evaluate<T: Real>(
    model: &Model<T>,
    data: &[usize],
    max_windows: usize,
) -> Result<f64, Error> {
    if data.len() < 2 {
        return Err(Error::Empty {
            what: "validation tokens (at least 2)",
        });
    }
    let n = model.config.context;
    let starts: Vec<usize> = (0..data.len() - 1).step_by(n).collect();
    let every = starts.len().div_ceil(max_windows.max(1));
    let (mut sum, mut count) = (0.0, 0usize);
    for &s in starts.iter().step_by(every) {
        let e = (s + n).min(data.len() - 1);
        let loss: f64 = model.loss(&data[s..e], &data[s + 1..e + 1])?.into();
        sum += loss * (e - s) as f64;
        count += e - s;
    }
    Ok(sum / count as f64)
}
