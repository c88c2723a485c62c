// Every problem in the model file is reported, each with its line, column and snippet.
motornet::model!("../../../../tests/ui/models/broken.mnet");

fn main() {
    // The macro still defines the type (named after the file), so this line adds no error of its own.
    let _ = Broken;
}
