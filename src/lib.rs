//! motornet: a symbolic modelling compiler for differentiable musculoskeletal effectors.
