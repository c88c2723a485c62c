//! The optimizer: Adam exactly as `torch.optim.Adam` computes it with its defaults (no weight decay, no
//! AMSGrad), and gradient-norm clipping as `torch.nn.utils.clip_grad_norm_`, both over one flat parameter
//! vector (see [`crate::gru::Gru::params`]).

/// Adam's state: what must be saved and restored for training to resume exactly where it stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    /// Number of steps taken.
    pub step: u64,
    /// First-moment (mean) estimates, one per parameter.
    pub m: Vec<f64>,
    /// Second-moment (uncentred variance) estimates, one per parameter.
    pub v: Vec<f64>,
}

impl AdamState {
    /// The state before the first step (all moments zero), for `n` parameters.
    pub fn new(n: usize) -> AdamState {
        AdamState {
            step: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
}

/// The Adam optimizer with its hyperparameters and state.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub state: AdamState,
}

impl Adam {
    /// Adam for `n` parameters with learning rate `lr` and PyTorch's defaults β1 = 0.9, β2 = 0.999,
    /// ε = 1e-8.
    pub fn new(n: usize, lr: f64) -> Adam {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            state: AdamState::new(n),
        }
    }

    /// Resumes from a saved state (the hyperparameters are not part of the state).
    pub fn with_state(lr: f64, state: AdamState) -> Adam {
        Adam {
            state,
            ..Adam::new(0, lr)
        }
    }

    /// One update of `params` from `grads`, with the same operations in the same order as PyTorch's
    /// single-tensor Adam, so that results agree to rounding:
    /// `m ← m + (1−β1)(g − m)`, `v ← β2 v + (1−β2) g²`,
    /// `p ← p − (lr / (1 − β1^t)) m / (√v / √(1 − β2^t) + ε)`.
    ///
    /// Panics if the lengths differ from the state's.
    pub fn step(&mut self, params: &mut [f64], grads: &[f64]) {
        let s = &mut self.state;
        assert_eq!(
            params.len(),
            s.m.len(),
            "parameter count differs from the optimizer state"
        );
        assert_eq!(
            grads.len(),
            s.m.len(),
            "gradient count differs from the optimizer state"
        );
        s.step += 1;
        let t = s.step as f64;
        let bias_correction1 = 1.0 - self.beta1.powf(t);
        let bias_correction2 = 1.0 - self.beta2.powf(t);
        let step_size = self.lr / bias_correction1;
        let bias_correction2_sqrt = bias_correction2.powf(0.5);
        let (w1, w2) = (1.0 - self.beta1, 1.0 - self.beta2);
        for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(&mut s.m).zip(&mut s.v) {
            // `lerp` with a weight below one half, as torch evaluates it.
            *m += w1 * (g - *m);
            *v = *v * self.beta2 + w2 * g * g;
            let denom = v.sqrt() / bias_correction2_sqrt + self.eps;
            *p += -step_size * *m / denom;
        }
    }
}

/// Scales `grads` so that their total 2-norm is at most `max_norm`, as `torch.nn.utils.clip_grad_norm_`:
/// the factor is `max_norm / (norm + 1e-6)`, applied only when it is below one (so a norm just under
/// `max_norm` is left alone and one above ends a hair under `max_norm`). Returns the norm before
/// clipping. A non-finite norm turns every gradient non-finite, as in PyTorch, which a caller should
/// check for and skip the update.
pub fn clip_grad_norm(grads: &mut [f64], max_norm: f64) -> f64 {
    let norm = grads.iter().map(|g| g * g).sum::<f64>().sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 || coef.is_nan() {
        grads.iter_mut().for_each(|g| *g *= coef);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Adam steps computed by hand for one parameter, with PyTorch's formulas.
    #[test]
    fn two_steps_by_hand() {
        let mut adam = Adam::new(2, 0.01);
        let mut p = vec![1.0, -2.0];
        adam.step(&mut p, &[0.5, -3.0]);
        // Step 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², update = lr · g / (|g| + ε) ≈ lr · sign(g).
        let expect1 = [
            1.0 - 0.01 * 0.5 / (0.5 + 1e-8),
            -2.0 + 0.01 * 3.0 / (3.0 + 1e-8),
        ];
        for (a, e) in p.iter().zip(expect1) {
            assert!((a - e).abs() < 1e-15, "{a} vs {e}");
        }
        adam.step(&mut p, &[0.25, 1.0]);
        for (k, (g1, g2)) in [(0.5, 0.25), (-3.0, 1.0)].into_iter().enumerate() {
            let m = 0.9 * (0.1 * g1) + 0.1 * g2;
            let v = 0.999 * (0.001 * g1 * g1) + 0.001 * g2 * g2;
            let m_hat = m / (1.0 - 0.9f64 * 0.9);
            let v_hat = v / (1.0 - 0.999f64 * 0.999);
            let e = expect1[k] - 0.01 * m_hat / (v_hat.sqrt() + 1e-8);
            assert!((p[k] - e).abs() < 1e-14, "param {k}: {} vs {e}", p[k]);
        }
        assert_eq!(adam.state.step, 2);
    }

    #[test]
    fn clip_scales_only_above_max() {
        let mut g = vec![3.0, 4.0];
        assert_eq!(clip_grad_norm(&mut g, 10.0), 5.0);
        assert_eq!(g, [3.0, 4.0]);
        let norm = clip_grad_norm(&mut g, 1.0);
        assert_eq!(norm, 5.0);
        let c = 1.0 / (5.0 + 1e-6);
        assert_eq!(g, [3.0 * c, 4.0 * c]);
    }
}
