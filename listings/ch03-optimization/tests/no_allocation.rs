//! The update is the hot loop of every training run: after the first step
//! (which creates the state) no optimizer may allocate memory for numbers.
//! It only lists the matrices it updates, one reference each (the
//! parameters stay where they are, see `notation::Params`). A counting
//! global allocator checks that for every optimizer of the chapter.

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
        let (before, before_bytes) = (allocations(), bytes());
        for _ in 0..10 {
            opt.step(&mut params, &grads).unwrap();
        }
        let during = allocations() - before;
        let during_bytes = bytes() - before_bytes;
        assert!(during <= 2 * 10, "{name} allocated {during} times");
        assert!(
            during_bytes <= 10 * lists,
            "{name} allocated {during_bytes} bytes in 10 steps"
        );
    }
    // The counter works: a vector allocates.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 16]);
    assert!(allocations() > before && v.len() == 16);
}
