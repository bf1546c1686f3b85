//! The loss and gradients of a whole minibatch at once: the fast form of
//! [`Model::loss_and_grads`] that [`Trainer::step_fast`] uses.
//!
//! The book's training step (`Trainer::step`) sends one window after the
//! other through [`Model::forward`] and [`Model::backward`]: `n × d_model`
//! matrices, small products. Here the `B` windows of a minibatch are
//! stacked into one `(B·n) × d_model` matrix, so that every layer that
//! treats tokens one at a time — layer norms, the projections `W_Q`,
//! `W_K`, `W_V`, `W_O`, the feed-forward networks, the output layer, the
//! cross-entropy — runs once on `B·n` rows, with chapter 2's `*_fast`
//! forward and backward passes. Only the attention itself is computed
//! window by window and head by head, with the causal mask: chapter 2's
//! [`EncoderBlock::forward_windows`] and
//! [`EncoderBlock::backward_windows`] do the blocks; this module stacks
//! the windows, looks up their embeddings and adds up the embedding's
//! gradient. The mathematics is that of [`Model::loss_and_grads`],
//! averaged over the windows; a test checks that both agree.
//!
//! [`EncoderBlock::forward_windows`]: ch02_transformer::block::EncoderBlock::forward_windows
//! [`EncoderBlock::backward_windows`]: ch02_transformer::block::EncoderBlock::backward_windows
//!
//! [`Trainer::step_fast`]: crate::train::Trainer::step_fast

use ch01_probability::cross_entropy::cross_entropy_rows;
use ch02_transformer::mask::causal_mask;
use nalgebra::DMatrix;
use notation::{Error, Real};

use crate::model::{Model, ModelGrads};

impl<T: Real> Model<T> {
    /// The average cross-entropy over all predictions of `windows` (pairs
    /// of tokens and targets, all of the same length) and its gradient:
    /// the mean of [`Model::loss_and_grads`] over the windows, computed
    /// with the windows stacked (see the module documentation).
    ///
    /// # Errors
    /// `windows` is empty or its windows differ in length; those of
    /// [`Model::loss_and_grads`] for a window.
    pub fn batch_loss_and_grads(
        &self,
        windows: &[(&[usize], &[usize])],
    ) -> Result<(T, ModelGrads<T>), Error> {
        let Some(&(first, _)) = windows.first() else {
            return Err(Error::Empty { what: "windows" });
        };
        let n = first.len();
        for (w, (x, y)) in windows.iter().enumerate() {
            if x.len() != n || y.len() != n {
                return Err(Error::Shape {
                    what: "windows",
                    expected: format!(
                        "{n} tokens and {n} targets in every window, as in \
                         the first"
                    ),
                    got: format!(
                        "{} tokens and {} targets in window {w}",
                        x.len(),
                        y.len()
                    ),
                });
            }
        }
        // Each window's tokens are checked as the forward pass checks
        // them; the embedding rows (4.4) are stacked.
        let d = self.config.d_model;
        let mut h = DMatrix::zeros(windows.len() * n, d);
        let mut targets = Vec::with_capacity(windows.len() * n);
        for (w, (x, y)) in windows.iter().enumerate() {
            self.check_tokens(x)?;
            for (t, &x_t) in x.iter().enumerate() {
                for j in 0..d {
                    h[(w * n + t, j)] =
                        self.embedding[(x_t, j)] + self.positions[(t, j)];
                }
            }
            targets.extend_from_slice(y);
        }
        // Chapter 2's block on stacked windows, causal inside each.
        let mask = causal_mask::<T>(n)?;
        let mut caches = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let cache = block.forward_windows(&h, n, Some(&mask))?;
            h = cache.output.clone();
            caches.push(cache);
        }
        let norm_f = self.norm_f.forward_fast(&h)?;
        let logits = self.head.forward_fast(&norm_f.output)?;
        // The mean over all B·n predictions: with windows of equal length
        // the mean of the windows' means.
        let (loss, d_logits) = cross_entropy_rows(&logits, &targets)?;
        let head = self.head.backward_fast(&norm_f.output, &d_logits)?;
        let norm_f = self.norm_f.backward_fast(&norm_f, &head.d_x)?;
        let mut d_h = norm_f.d_x.clone();
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for (block, c) in self.blocks.iter().zip(&caches).rev() {
            let g = block.backward_windows(c, &d_h)?;
            d_h = g.d_x.clone();
            blocks.push(g);
        }
        blocks.reverse();
        // (4.5): a lookup's gradient adds up over the positions.
        let mut embedding = DMatrix::zeros(self.config.vocab_size, d);
        for (w, (x, _)) in windows.iter().enumerate() {
            for (t, &x_t) in x.iter().enumerate() {
                let mut e_row = embedding.row_mut(x_t);
                e_row += d_h.row(w * n + t);
            }
        }
        let grads = ModelGrads {
            embedding,
            blocks,
            norm_f,
            head,
        };
        Ok((loss, grads))
    }
}
