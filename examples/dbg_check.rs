fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    let (_m, d) = motornet::dsl::check::compile_source(&src);
    let r = motornet::dsl::diag::Report {
        file_name: &path,
        source: &src,
        diagnostics: &d,
    };
    for x in &d {
        print!("{}", r.one_line(x));
    }
    print!("{}", r.render(motornet::dsl::diag::Style::Plain));
}
