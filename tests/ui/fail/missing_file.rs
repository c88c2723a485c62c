motornet::model!("../../../../tests/ui/models/no_such_model.mnet");

fn main() {}
