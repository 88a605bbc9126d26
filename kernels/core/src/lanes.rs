//! W symbols side by side: `V<W>` holds one f64 per symbol (lane), `M<W>` one bool per lane.
//! Every operation is the plain IEEE operation applied lane by lane, written as loops over a
//! fixed-size array. LLVM turns them into SSE2/AVX2/AVX-512 instructions depending on the
//! target features of the function they are inlined into, and never fuses or reorders them
//! (Rust has no fast-math), so every SIMD path gives the same bits as W = 1.

#[derive(Clone, Copy, Debug)]
#[repr(C, align(32))]
pub struct V<const W: usize>(pub [f64; W]);

/// A lane mask: all ones (true) or all zeros (false) per lane, like the result of a SIMD
/// compare; `select` blends bitwise, which keeps LLVM from turning it into branches.
#[derive(Clone, Copy, Debug)]
pub struct M<const W: usize>(pub [u64; W]);

#[inline(always)]
fn mask(b: bool) -> u64 {
    (b as u64).wrapping_neg()
}

macro_rules! binop {
    ($name:ident, $op:tt) => {
        #[inline(always)]
        pub fn $name(self, o: Self) -> Self {
            let mut r = self.0;
            for l in 0..W {
                r[l] = r[l] $op o.0[l];
            }
            V(r)
        }
    };
}

macro_rules! cmpop {
    ($name:ident, $op:tt) => {
        #[inline(always)]
        pub fn $name(self, o: Self) -> M<W> {
            let mut r = [0u64; W];
            for l in 0..W {
                r[l] = mask(self.0[l] $op o.0[l]);
            }
            M(r)
        }
    };
}

impl<const W: usize> V<W> {
    #[inline(always)]
    pub fn splat(x: f64) -> Self {
        V([x; W])
    }
    binop!(add, +);
    binop!(sub, -);
    binop!(mul, *);
    binop!(div, /);
    cmpop!(gt, >);
    cmpop!(lt, <);
    cmpop!(ge, >=);
    cmpop!(le, <=);
    cmpop!(eq, ==);
    cmpop!(ne, !=);

    #[inline(always)]
    pub fn neg(self) -> Self {
        let mut r = self.0;
        for l in 0..W {
            r[l] = -r[l];
        }
        V(r)
    }
    #[inline(always)]
    pub fn abs(self) -> Self {
        let mut r = self.0;
        for l in 0..W {
            r[l] = r[l].abs();
        }
        V(r)
    }
    #[inline(always)]
    pub fn floor(self) -> Self {
        let mut r = self.0;
        for l in 0..W {
            r[l] = r[l].floor();
        }
        V(r)
    }
    #[inline(always)]
    pub fn round_half_even(self) -> Self {
        let mut r = self.0;
        for l in 0..W {
            r[l] = r[l].round_ties_even();
        }
        V(r)
    }
    #[inline(always)]
    pub fn is_nan(self) -> M<W> {
        let mut r = [0u64; W];
        for l in 0..W {
            r[l] = mask(self.0[l].is_nan());
        }
        M(r)
    }
    /// Lanes that are neither NaN nor infinite.
    #[inline(always)]
    pub fn is_finite(self) -> M<W> {
        let mut r = [0u64; W];
        for l in 0..W {
            r[l] = mask(self.0[l].abs() < f64::INFINITY);
        }
        M(r)
    }
    #[inline(always)]
    pub fn map(self, f: impl Fn(f64) -> f64) -> Self {
        let mut r = self.0;
        for l in 0..W {
            r[l] = f(r[l]);
        }
        V(r)
    }
}

impl<const W: usize> M<W> {
    #[inline(always)]
    pub fn and(self, o: Self) -> Self {
        let mut r = self.0;
        for l in 0..W {
            r[l] &= o.0[l];
        }
        M(r)
    }
    #[inline(always)]
    pub fn not(self) -> Self {
        let mut r = self.0;
        for l in 0..W {
            r[l] = !r[l];
        }
        M(r)
    }
    #[inline(always)]
    pub fn or(self, o: Self) -> Self {
        let mut r = self.0;
        for l in 0..W {
            r[l] |= o.0[l];
        }
        M(r)
    }
    /// Per lane: `a` where the mask is set, else `b`.
    #[inline(always)]
    pub fn select(self, a: V<W>, b: V<W>) -> V<W> {
        let mut r = b.0;
        for l in 0..W {
            r[l] = f64::from_bits((a.0[l].to_bits() & self.0[l]) | (b.0[l].to_bits() & !self.0[l]));
        }
        V(r)
    }
    #[inline(always)]
    pub fn all(self) -> bool {
        let mut a = u64::MAX;
        for l in 0..W {
            a &= self.0[l];
        }
        a == u64::MAX
    }
}

