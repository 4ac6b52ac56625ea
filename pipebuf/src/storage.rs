//! Where a buffer keeps its elements: growable (`alloc`) or fixed (a caller slice or array).

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

/// Backing storage of a [`PipeBuf`](crate::PipeBuf).
///
/// Implemented for [`Growable`] (with the `alloc` feature), for fixed arrays `[T; N]` and for
/// caller-provided slices `&mut [T]`. Fixed storage never allocates. The trait is sealed: the
/// views rely on exactly these storage kinds.
pub trait Storage<T>: sealed::Sealed<T> {}

pub(crate) mod sealed {
    use super::StoreRef;

    // Public in a private module: nameable by the crate's trait, by no one outside.
    #[allow(unreachable_pub)]
    pub trait Sealed<T> {
        fn store_ref(&mut self) -> StoreRef<'_, T>;
        fn as_slice(&self) -> &[T];
        fn release(&mut self) -> bool;
        fn max_len(&self) -> usize;
    }
}

/// A borrowed view of any storage kind, so that the buffer views need no storage parameter.
#[allow(unreachable_pub)] // public only so the sealed trait may name it; the module is private
#[derive(Debug)]
pub enum StoreRef<'a, T> {
    Fixed(&'a mut [T]),
    #[cfg(feature = "alloc")]
    Growable(&'a mut Growable<T>),
}

impl<'a, T: Copy> StoreRef<'a, T> {
    pub(crate) fn reborrow(&mut self) -> StoreRef<'_, T> {
        match self {
            StoreRef::Fixed(s) => StoreRef::Fixed(s),
            #[cfg(feature = "alloc")]
            StoreRef::Growable(g) => StoreRef::Growable(g),
        }
    }

    #[inline]
    pub(crate) fn slice(&self) -> &[T] {
        match self {
            StoreRef::Fixed(s) => s,
            #[cfg(feature = "alloc")]
            StoreRef::Growable(g) => &g.vec,
        }
    }

    #[inline]
    pub(crate) fn slice_mut(&mut self) -> &mut [T] {
        match self {
            StoreRef::Fixed(s) => s,
            #[cfg(feature = "alloc")]
            StoreRef::Growable(g) => &mut g.vec,
        }
    }

    pub(crate) fn into_slice(self) -> &'a [T] {
        match self {
            StoreRef::Fixed(s) => s,
            #[cfg(feature = "alloc")]
            StoreRef::Growable(g) => &g.vec,
        }
    }

    /// Largest size the storage can ever have.
    #[inline]
    pub(crate) fn max_len(&self) -> usize {
        match self {
            StoreRef::Fixed(s) => s.len(),
            #[cfg(feature = "alloc")]
            StoreRef::Growable(g) => g.max_capacity(),
        }
    }

    /// Frees growable storage (fixed storage stays); returns whether anything was freed.
    #[cfg(feature = "std")]
    pub(crate) fn release(&mut self) -> bool {
        match self {
            StoreRef::Fixed(_) => false,
            #[cfg(feature = "alloc")]
            StoreRef::Growable(g) => sealed::Sealed::release(&mut **g),
        }
    }

    /// Grows the storage so that it holds at least `needed` elements if the limit allows,
    /// else to the limit. Fixed storage cannot grow.
    #[cfg_attr(not(feature = "alloc"), allow(unused_variables))]
    pub(crate) fn grow(&mut self, needed: usize) {
        match self {
            StoreRef::Fixed(_) => (),
            #[cfg(feature = "alloc")]
            StoreRef::Growable(g) => g.grow(needed),
        }
    }
}

impl<T: Copy, const N: usize> sealed::Sealed<T> for [T; N] {
    fn store_ref(&mut self) -> StoreRef<'_, T> {
        StoreRef::Fixed(self)
    }
    fn as_slice(&self) -> &[T] {
        self
    }
    fn release(&mut self) -> bool {
        false
    }
    fn max_len(&self) -> usize {
        self.len()
    }
}
impl<T: Copy, const N: usize> Storage<T> for [T; N] {}

impl<T: Copy> sealed::Sealed<T> for &mut [T] {
    fn store_ref(&mut self) -> StoreRef<'_, T> {
        StoreRef::Fixed(self)
    }
    fn as_slice(&self) -> &[T] {
        self
    }
    fn release(&mut self) -> bool {
        false
    }
    fn max_len(&self) -> usize {
        self.len()
    }
}
impl<T: Copy> Storage<T> for &mut [T] {}

/// Heap storage that grows on demand between a minimum and a maximum size, and that can be
/// released while the buffer is empty so that idle buffers cost no heap memory.
///
/// The maximum is the buffer's DoS cap: a producer asking for more gets less (or nothing),
/// which is backpressure, never an allocation beyond the cap.
#[cfg(feature = "alloc")]
pub struct Growable<T> {
    vec: Vec<T>,
    // u32 keeps an idle buffer small; a cap above 4 Gi elements is clamped.
    min: u32,
    max: u32,
    /// What new storage is filled with (`T::default()`), so the buffer needs only `T: Copy`.
    fill: T,
}

#[cfg(feature = "alloc")]
impl<T: Copy> Growable<T> {
    /// Storage that allocates nothing until first written, then at least `min` elements,
    /// growing by doubling up to `max` elements. A `min` above `max` is lowered to `max`;
    /// both are clamped to `u32::MAX`.
    pub fn new(min: usize, max: usize) -> Self
    where
        T: Default,
    {
        Self::with_fill(min, max, T::default())
    }

    /// Like [`new`](Growable::new), for element types without `Default`: new storage is
    /// filled with `fill` (never visible as data: only committed elements are).
    pub fn with_fill(min: usize, max: usize, fill: T) -> Self {
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        let min = u32::try_from(min).unwrap_or(u32::MAX).min(max);
        Growable {
            vec: Vec::new(),
            min,
            max,
            fill,
        }
    }

    /// The size of the first allocation.
    pub fn min_capacity(&self) -> usize {
        self.min as usize
    }

    /// The cap: storage never grows beyond this many elements.
    pub fn max_capacity(&self) -> usize {
        self.max as usize
    }

    fn grow(&mut self, needed: usize) {
        let current = self.vec.len();
        let max = self.max_capacity();
        if needed <= current || current >= max {
            return;
        }
        let target = needed
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX)
            .max(self.min_capacity())
            .max(current.saturating_mul(2))
            .min(max);
        self.vec.reserve_exact(target - current);
        self.vec.resize(target, self.fill);
    }
}

#[cfg(feature = "alloc")]
impl<T> Growable<T> {
    /// The storage held, all of it.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.vec
    }

    /// Whether each allocation fits under the other's cap.
    pub(crate) fn can_swap_allocations(&self, other: &Growable<T>) -> bool {
        self.vec.len() <= other.max as usize && other.vec.len() <= self.max as usize
    }

    /// Exchanges the two allocations if each fits under the other's cap; returns whether it
    /// did. Moves no element.
    pub(crate) fn swap_allocations(&mut self, other: &mut Growable<T>) -> bool {
        if !self.can_swap_allocations(other) {
            return false;
        }
        core::mem::swap(&mut self.vec, &mut other.vec);
        true
    }
}

#[cfg(feature = "alloc")]
impl<T> core::fmt::Debug for Growable<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Growable")
            .field("allocated", &self.vec.len())
            .field("min", &self.min)
            .field("max", &self.max)
            .finish()
    }
}

#[cfg(feature = "alloc")]
impl<T: Copy> sealed::Sealed<T> for Growable<T> {
    fn store_ref(&mut self) -> StoreRef<'_, T> {
        StoreRef::Growable(self)
    }
    fn as_slice(&self) -> &[T] {
        &self.vec
    }
    fn release(&mut self) -> bool {
        let had = self.vec.capacity() != 0;
        self.vec = Vec::new();
        had
    }
    fn max_len(&self) -> usize {
        self.max_capacity()
    }
}
#[cfg(feature = "alloc")]
impl<T: Copy> Storage<T> for Growable<T> {}
