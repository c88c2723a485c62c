// A valid model compiles into a plant type that simulates.
use motornet::Plant;

motornet::model!(pub UiArm = "../../../../tests/ui/models/valid.mnet");

fn main() {
    let arm = UiArm::new();
    let info = arm.info();
    assert_eq!(info.coord_names, ["shoulder"]);
    assert_eq!(info.muscle_names, ["flexor"]);
    let mut ws = arm.workspace();
    let mut state = vec![0.0; info.state_dim()];
    arm.reset(&mut ws, &[0.5, 0.0], &mut state).unwrap();
    let controls = vec![0.5; info.control_dim()];
    let mut next = vec![0.0; state.len()];
    arm.step(&mut ws, &state, &controls, &mut next).unwrap();
    assert!(next.iter().all(|v| v.is_finite()), "{next:?}");
    assert_ne!(next, state, "the step moved nothing");
}
