motornet::model!(pub Arm = "/models/arm26.mnet");

fn main() {
    let _ = Arm;
}
