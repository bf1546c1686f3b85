//! The one traversal of a model's parameters.
//!
//! Every layer (and every `*Grads` of a backward pass) lists its
//! parameter matrices once, by name and in one fixed order, through
//! [`Params`]. Shapes, checkpoints, the flattening of gradients and the
//! optimizers of chapter 3 all walk that list; an optimizer updates the
//! matrices where they live. Biases, `γ` and `β` are rows: `DMatrix`es of
//! shape `(1, d)`, as in `Y = X W + 1 b`.

use nalgebra::DMatrix;

use crate::Real;

// ANCHOR: params
/// A value that holds parameter matrices: a layer, a model, the
/// gradients of a backward pass, or a plain list of matrices.
///
/// Both methods call `f` once per matrix, with its name (`"w"`,
/// `"blocks.0.attn.w_q"`; empty for a lone matrix) and in the same order,
/// the order in which its parameters are listed.
pub trait Params<T: Real> {
    /// Calls `f(name, matrix)` for every parameter matrix, in order.
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&str, &'a DMatrix<T>));

    /// The same traversal, with the matrices writable.
    fn visit_params_mut<'a>(
        &'a mut self,
        f: &mut dyn FnMut(&str, &'a mut DMatrix<T>),
    );
}
// ANCHOR_END: params

/// What every [`Params`] offers, built on its traversal.
pub trait ParamsExt<T: Real>: Params<T> {
    /// The matrices, in order.
    fn params(&self) -> Vec<&DMatrix<T>> {
        let mut list = Vec::with_capacity(self.n_matrices());
        self.visit_params(&mut |_, p| list.push(p));
        list
    }

    /// The matrices, writable, in order.
    fn params_mut(&mut self) -> Vec<&mut DMatrix<T>> {
        let mut list = Vec::with_capacity(self.n_matrices());
        self.visit_params_mut(&mut |_, p| list.push(p));
        list
    }

    /// The matrices with their names, in order.
    fn named_params(&self) -> Vec<(String, &DMatrix<T>)> {
        let mut list = Vec::with_capacity(self.n_matrices());
        self.visit_params(&mut |name, p| list.push((name.into(), p)));
        list
    }

    /// The matrices, writable, with their names, in order.
    fn named_params_mut(&mut self) -> Vec<(String, &mut DMatrix<T>)> {
        let mut list = Vec::with_capacity(self.n_matrices());
        self.visit_params_mut(&mut |name, p| list.push((name.into(), p)));
        list
    }

    /// The name and shape of every matrix, in order.
    fn param_shapes(&self) -> Vec<(String, (usize, usize))> {
        let mut list = Vec::new();
        self.visit_params(&mut |name, p| list.push((name.into(), p.shape())));
        list
    }

    /// The number of matrices.
    fn n_matrices(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, _| n += 1);
        n
    }

    /// The number of trainable numbers.
    fn n_params(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, p| n += p.len());
        n
    }
}

impl<T: Real, P: Params<T> + ?Sized> ParamsExt<T> for P {}

/// `prefix.name`, or `prefix` for a lone matrix (whose name is empty).
fn join(prefix: &str, name: &str) -> String {
    if name.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Visits the parameters of `part` under the name `prefix`: a layer's
/// traversal is the traversals of its parts, one after the other.
pub fn visit_part<'a, T: Real>(
    prefix: &str,
    part: &'a (impl Params<T> + ?Sized),
    f: &mut dyn FnMut(&str, &'a DMatrix<T>),
) {
    part.visit_params(&mut |name, p| f(&join(prefix, name), p));
}

/// [`visit_part`], writable.
pub fn visit_part_mut<'a, T: Real>(
    prefix: &str,
    part: &'a mut (impl Params<T> + ?Sized),
    f: &mut dyn FnMut(&str, &'a mut DMatrix<T>),
) {
    part.visit_params_mut(&mut |name, p| f(&join(prefix, name), p));
}

/// Implements [`Params`] for a type from the list of its parts, in order:
/// `params!(Linear<T> { "w" => w, "b" => b });`. A part is a matrix or
/// anything else that implements [`Params`] (its names are prefixed);
/// `"w_q" => w_q.w` reaches into a field. The list is written once and
/// gives both traversals.
#[macro_export]
macro_rules! params {
    ($ty:ident < T > { $($name:literal => $($field:ident).+),* $(,)? }) => {
        impl<T: $crate::Real> $crate::Params<T> for $ty<T> {
            fn visit_params<'a>(
                &'a self,
                f: &mut dyn FnMut(&str, &'a nalgebra::DMatrix<T>),
            ) {
                $($crate::params::visit_part($name, &self.$($field).+, f);)*
            }

            fn visit_params_mut<'a>(
                &'a mut self,
                f: &mut dyn FnMut(&str, &'a mut nalgebra::DMatrix<T>),
            ) {
                $(
                    $crate::params::visit_part_mut(
                        $name,
                        &mut self.$($field).+,
                        f,
                    );
                )*
            }
        }
    };
}

/// A lone matrix is one parameter, without a name of its own.
impl<T: Real> Params<T> for DMatrix<T> {
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&str, &'a DMatrix<T>)) {
        f("", self);
    }

    fn visit_params_mut<'a>(
        &'a mut self,
        f: &mut dyn FnMut(&str, &'a mut DMatrix<T>),
    ) {
        f("", self);
    }
}

/// A list of parts (blocks, ...): the names of part `i` are prefixed with
/// `i.`. Lone matrices in a list stay unnamed, so that walking a list of
/// matrices, as the optimizers of chapter 3 do at every step, builds no
/// strings.
impl<T: Real, P: Params<T>> Params<T> for [P] {
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&str, &'a DMatrix<T>)) {
        for (i, part) in self.iter().enumerate() {
            visit_indexed(i, part, f);
        }
    }

    fn visit_params_mut<'a>(
        &'a mut self,
        f: &mut dyn FnMut(&str, &'a mut DMatrix<T>),
    ) {
        for (i, part) in self.iter_mut().enumerate() {
            visit_indexed_mut(i, part, f);
        }
    }
}

/// Part `i` of a list (see the `impl` for `[P]`).
fn visit_indexed<'a, T: Real, P: Params<T>>(
    i: usize,
    part: &'a P,
    f: &mut dyn FnMut(&str, &'a DMatrix<T>),
) {
    part.visit_params(&mut |name, p| {
        if name.is_empty() {
            f(name, p)
        } else {
            f(&format!("{i}.{name}"), p)
        }
    });
}

fn visit_indexed_mut<'a, T: Real, P: Params<T>>(
    i: usize,
    part: &'a mut P,
    f: &mut dyn FnMut(&str, &'a mut DMatrix<T>),
) {
    part.visit_params_mut(&mut |name, p| {
        if name.is_empty() {
            f(name, p)
        } else {
            f(&format!("{i}.{name}"), p)
        }
    });
}

/// Implements [`Params`] for lists that hold their parts in a slice
/// (`Vec<P>`, `[P; N]`): the traversal of that slice `[P]`.
macro_rules! params_of_slice {
    ($(impl [$($generics:tt)*] $list:ty;)*) => {$(
        impl<T: Real, P: Params<T> $($generics)*> Params<T> for $list {
            fn visit_params<'a>(
                &'a self,
                f: &mut dyn FnMut(&str, &'a DMatrix<T>),
            ) {
                self.as_slice().visit_params(f);
            }

            fn visit_params_mut<'a>(
                &'a mut self,
                f: &mut dyn FnMut(&str, &'a mut DMatrix<T>),
            ) {
                self.as_mut_slice().visit_params_mut(f);
            }
        }
    )*};
}

params_of_slice! {
    impl [] Vec<P>;
    impl [, const N: usize] [P; N];
}
