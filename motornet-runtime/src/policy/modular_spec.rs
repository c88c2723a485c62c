//! The structure of a modular GRU ([`super::ModularGru`]): module sizes, delays and the fixed masks,
//! given explicitly or drawn by upstream's procedure from connection probabilities.

use rand::Rng;

/// The structure of a modular GRU: sizes, delays and fixed masks.
#[derive(Clone, Debug, PartialEq)]
pub struct ModularSpec {
    pub input: usize,
    /// Module sizes; modules are consecutive blocks of hidden units.
    pub modules: Vec<usize>,
    pub output: usize,
    /// `delay[i][j]`: the delay, in steps, with which module `i` sees module `j`.
    pub delay: Vec<Vec<usize>>,
    /// `H × (I + H)` binary mask shared by `Wz`, `Wr` and `Wh` (input columns first).
    pub mask_w: Vec<f64>,
    /// `O × H` binary mask of `Y`.
    pub mask_y: Vec<f64>,
    /// Dale's law: the sign (+1 excitatory, −1 inhibitory) of every recurrent weight leaving each hidden
    /// unit, kept through training. Empty: no sign constraint.
    pub unit_sign: Vec<f64>,
    /// Initialisation only: the recurrent part of `Wh` is scaled so that the largest real part of its
    /// eigenvalues is this value.
    pub spectral_scaling: Option<f64>,
}

impl ModularSpec {
    pub fn hidden(&self) -> usize {
        self.modules.iter().sum()
    }

    /// Checks that every size agrees.
    pub fn validate(&self) -> Result<(), String> {
        let (m, h) = (self.modules.len(), self.hidden());
        if m == 0 || self.modules.contains(&0) {
            return Err("modular_gru needs at least one module, each of at least one unit".into());
        }
        if self.delay.len() != m || self.delay.iter().any(|r| r.len() != m) {
            return Err(format!("connectivity_delay must be {m} × {m}"));
        }
        if self.mask_w.len() != h * (self.input + h) {
            return Err(format!(
                "mask_W must be {h} × {} (hidden × (input + hidden))",
                self.input + h
            ));
        }
        if self.mask_y.len() != self.output * h {
            return Err(format!("mask_Y must be {} × {h}", self.output));
        }
        if !self.unit_sign.is_empty()
            && (self.unit_sign.len() != h || self.unit_sign.iter().any(|s| s.abs() != 1.0))
        {
            return Err(format!("unit_sign must be {h} values of +1 or −1"));
        }
        if self
            .spectral_scaling
            .is_some_and(|s| !(s.is_finite() && s > 0.0))
        {
            return Err("spectral_scaling must be a positive number".into());
        }
        Ok(())
    }
}

/// The connection probabilities upstream's constructor takes, from which it draws the fixed masks.
#[derive(Clone, Debug, PartialEq)]
pub struct ModularMasks {
    /// Input columns of each modality (together every input exactly once).
    pub vision_dim: Vec<usize>,
    pub proprio_dim: Vec<usize>,
    pub task_dim: Vec<usize>,
    /// Per module: probability that a unit receives each input of the modality.
    pub vision_mask: Vec<f64>,
    pub proprio_mask: Vec<f64>,
    pub task_mask: Vec<f64>,
    /// `connectivity_mask[i][j]`: the fraction of module `j`'s units that project to module `i`.
    pub connectivity_mask: Vec<Vec<f64>>,
    /// Per module: probability that each output reads each of its units.
    pub output_mask: Vec<f64>,
    /// Dale's law, per module: the probability that a unit is excitatory (the others are inhibitory).
    /// `None`: no sign constraint.
    pub proportion_excitatory: Option<Vec<f64>>,
}

impl ModularSpec {
    /// Draws the masks by upstream's procedure: input probabilities by modality and module; for each
    /// pair of modules with `p = connectivity_mask[i][j] > 0`, `⌈p · |j|⌉` of module `j`'s units chosen
    /// without replacement connect to every unit of module `i` with probability 1; output
    /// probabilities by module; then every entry is a Bernoulli draw. (Upstream draws from NumPy's
    /// generator, so the same seed gives other masks than upstream's, from the same distribution.)
    pub fn generate<R: Rng + ?Sized>(
        input: usize,
        modules: Vec<usize>,
        output: usize,
        delay: Vec<Vec<usize>>,
        masks: &ModularMasks,
        rng: &mut R,
    ) -> Result<ModularSpec, String> {
        let m = modules.len();
        let per_module = [
            ("vision_mask", &masks.vision_mask),
            ("proprio_mask", &masks.proprio_mask),
            ("task_mask", &masks.task_mask),
            ("output_mask", &masks.output_mask),
        ];
        for (name, v) in per_module {
            if v.len() != m {
                return Err(format!("{name} must have one entry per module ({m})"));
            }
        }
        if masks.connectivity_mask.len() != m
            || masks.connectivity_mask.iter().any(|r| r.len() != m)
        {
            return Err(format!("connectivity_mask must be {m} × {m}"));
        }
        let probabilities = per_module
            .iter()
            .flat_map(|(_, v)| v.iter())
            .chain(masks.connectivity_mask.iter().flatten());
        if probabilities.clone().any(|p| !(0.0..=1.0).contains(p)) {
            return Err("mask probabilities must lie in [0, 1]".into());
        }
        let mut columns: Vec<usize> = [&masks.vision_dim, &masks.proprio_dim, &masks.task_dim]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        columns.sort_unstable();
        if columns != (0..input).collect::<Vec<_>>() {
            return Err(format!(
                "vision_dim, proprio_dim and task_dim must together name every input 0..{input} once"
            ));
        }
        let h: usize = modules.iter().sum();
        let k = input + h;
        let mut starts = Vec::with_capacity(m);
        let mut start = 0;
        for &size in &modules {
            starts.push(start);
            start += size;
        }
        let mut p_w = vec![0.0; h * k];
        let mut p_y = vec![0.0; output * h];
        for i in 0..m {
            for row in starts[i]..starts[i] + modules[i] {
                let line = &mut p_w[row * k..(row + 1) * k];
                for (dims, p) in [
                    (&masks.vision_dim, masks.vision_mask[i]),
                    (&masks.proprio_dim, masks.proprio_mask[i]),
                    (&masks.task_dim, masks.task_mask[i]),
                ] {
                    dims.iter().for_each(|&c| line[c] = p);
                }
            }
            for j in 0..m {
                let p = masks.connectivity_mask[i][j];
                if p > 0.0 {
                    let n = ((p * modules[j] as f64).ceil() as usize).min(modules[j]);
                    for unit in rand::seq::index::sample(rng, modules[j], n) {
                        let col = input + starts[j] + unit;
                        for row in starts[i]..starts[i] + modules[i] {
                            p_w[row * k + col] = 1.0;
                        }
                    }
                }
            }
            for o in 0..output {
                p_y[o * h + starts[i]..o * h + starts[i] + modules[i]].fill(masks.output_mask[i]);
            }
        }
        let mut draw = |p: &f64| f64::from(u8::from(rng.random_bool(*p)));
        let mask_w = p_w.iter().map(&mut draw).collect();
        let mask_y = p_y.iter().map(&mut draw).collect();
        // Unit types last, so that the masks do not depend on whether Dale's law is on.
        let unit_sign = match &masks.proportion_excitatory {
            None => Vec::new(),
            Some(p) if p.len() != m || p.iter().any(|p| !(0.0..=1.0).contains(p)) => {
                return Err(format!(
                    "proportion_excitatory must be one probability in [0, 1] per module ({m})"
                ))
            }
            Some(p) => modules
                .iter()
                .zip(p)
                .flat_map(|(&size, &p)| (0..size).map(move |_| p))
                .map(|p| if rng.random_bool(p) { 1.0 } else { -1.0 })
                .collect(),
        };
        let spec = ModularSpec {
            input,
            modules,
            output,
            delay,
            mask_w,
            mask_y,
            unit_sign,
            spectral_scaling: None,
        };
        spec.validate()?;
        Ok(spec)
    }
}
