//! The update is the hot loop of every training run: after the first step
//! (which creates the state) no optimizer may allocate memory for numbers.
//! It only lists the matrices it updates, one reference each (the
//! parameters stay where they are, see `notation::Params`). A counting
//! global allocator checks that for every optimizer of the chapter and for
//! the fused `Adam::step_fast`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ch03_optimization::adagrad::{AdaGrad, AdaGradConfig};
use ch03_optimization::adam::{Adam, AdamConfig};
use ch03_optimization::rmsprop::{RmsProp, RmsPropConfig};
use ch03_optimization::sgd::{Sgd, SgdConfig};
use ch03_optimization::{Epsilon, Optimizer};
use nalgebra::DMatrix;

thread_local! {
    // Counted per thread, so that other tests running in parallel do not
    // disturb the count. `const` initialisation does not allocate.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        let _ = BYTES.try_with(|n| n.set(n.get() + layout.size()));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn bytes() -> usize {
    BYTES.with(Cell::get)
}

/// How often ten calls of `step` allocate, and how many bytes in all.
fn allocated_in_ten(mut step: impl FnMut()) -> (usize, usize) {
    let (before, before_bytes) = (allocations(), bytes());
    for _ in 0..10 {
        step();
    }
    (allocations() - before, bytes() - before_bytes)
}

/// At most the two lists of references per step, `lists` bytes: nothing
/// for numbers.
fn assert_only_lists(
    name: &str,
    (during, bytes): (usize, usize),
    lists: usize,
) {
    assert!(
        during <= 2 * 10,
        "{name} allocated {during} times in 10 steps"
    );
    assert!(
        bytes <= 10 * lists,
        "{name} allocated {bytes} bytes in 10 steps"
    );
}

#[test]
fn steps_after_the_first_do_not_allocate() {
    let eps = Epsilon::Outside(1e-8);
    let mut optimizers: Vec<(&str, Box<dyn Optimizer<f64>>)> = vec![
        ("SGD", Box::new(Sgd::new(SgdConfig::default()).unwrap())),
        (
            "momentum",
            Box::new(
                Sgd::new(SgdConfig {
                    lr: 0.01,
                    momentum: 0.9,
                })
                .unwrap(),
            ),
        ),
        (
            "AdaGrad",
            Box::new(AdaGrad::new(AdaGradConfig::new(eps)).unwrap()),
        ),
        (
            "RMSProp",
            Box::new(RmsProp::new(RmsPropConfig::new(eps)).unwrap()),
        ),
        ("Adam", Box::new(Adam::new(AdamConfig::new(eps)).unwrap())),
        (
            "AdamW",
            Box::new(Adam::new(AdamConfig::adamw(eps)).unwrap()),
        ),
    ];
    let mut params =
        vec![DMatrix::from_element(64, 32, 0.5), DMatrix::zeros(1, 32)];
    let grads = vec![
        DMatrix::from_element(64, 32, 0.1),
        DMatrix::from_element(1, 32, -0.2),
    ];
    // Per step: the list of the two parameters and the list of their two
    // gradients, one reference each; a copy of W alone would be 16 KiB.
    let lists = 2 * 2 * size_of::<&DMatrix<f64>>();
    for (name, opt) in &mut optimizers {
        opt.step(&mut params, &grads).unwrap();
        let during =
            allocated_in_ten(|| opt.step(&mut params, &grads).unwrap());
        assert_only_lists(name, during, lists);
    }
    // The fused step that training uses (chapter 4), in f64 and in f32,
    // where it runs the SIMD kernel.
    for config in [AdamConfig::new(eps), AdamConfig::adamw(eps)] {
        let mut adam = Adam::new(config).unwrap();
        adam.step_fast(&mut params, &grads).unwrap();
        let during =
            allocated_in_ten(|| adam.step_fast(&mut params, &grads).unwrap());
        assert_only_lists("Adam::step_fast (f64)", during, lists);
    }
    let mut p32: Vec<DMatrix<f32>> =
        params.iter().map(|p| p.map(|x| x as f32)).collect();
    let g32: Vec<DMatrix<f32>> =
        grads.iter().map(|g| g.map(|x| x as f32)).collect();
    let mut adam =
        Adam::new(AdamConfig::adamw(Epsilon::Outside(1e-8_f32))).unwrap();
    adam.step_fast(&mut p32, &g32).unwrap();
    let during = allocated_in_ten(|| adam.step_fast(&mut p32, &g32).unwrap());
    assert_only_lists("Adam::step_fast (f32)", during, lists);
    // The counter works: a vector allocates.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 16]);
    assert!(allocations() > before && v.len() == 16);
}
