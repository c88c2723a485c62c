fn main() {
    for path in std::env::args().skip(1) {
        let src = std::fs::read_to_string(&path).unwrap();
        let (m, _d) = motornet::dsl::check::compile_source(&src);
        let p = motornet::dsl::lower::lower(&m.unwrap());
        println!(
            "{path}: graph {} step {:?} reset {:?}",
            p.graph.len(),
            p.size(&p.step),
            p.size(&p.reset)
        );
    }
}
