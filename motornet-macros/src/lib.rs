//! `model!`: compiles a `.mnet` file into a plant type at build time. A thin shell: all the work is done by
//! `motornet_dsl::expand`, which is tested without a compiler in the loop.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token, Visibility};

/// `model!("models/arm26.mnet")` defines `pub struct Arm26` (named after the model) implementing
/// `motornet::Plant`; `model!(pub(crate) MyArm = "models/arm26.mnet")` chooses the name and visibility.
/// The path is relative to the crate's `Cargo.toml`; editing the file rebuilds the crate.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as Input);
    expand(input).into()
}

struct Input {
    vis: Visibility,
    name: Option<Ident>,
    path: LitStr,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(Input {
                vis: syn::parse_quote!(pub),
                name: None,
                path: input.parse()?,
            });
        }
        let vis = input.parse()?;
        let name = input.parse()?;
        input.parse::<Token![=]>()?;
        Ok(Input {
            vis,
            name: Some(name),
            path: input.parse()?,
        })
    }
}

fn expand(input: Input) -> proc_macro2::TokenStream {
    let rel = input.path.value();
    let span = input.path.span();
    let fail = |msg: String, stub: Option<&Ident>| {
        let stub = stub.map(|n| {
            let vis = &input.vis;
            quote! { #vis struct #n; }
        });
        quote::quote_spanned! {span=> ::core::compile_error!(#msg); #stub }
    };
    if std::path::Path::new(&rel).is_absolute() {
        return fail(
            format!("model paths are relative to the crate's Cargo.toml, not absolute: {rel}"),
            input.name.as_ref(),
        );
    }
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let path = std::path::Path::new(&root).join(&rel);
    let source = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            return fail(
                format!("cannot read model file {}: {e}", path.display()),
                input.name.as_ref(),
            )
        }
    };
    let tracked = path.canonicalize().unwrap_or(path).display().to_string();
    let vis = &input.vis;
    match motornet_dsl::expand(
        &source,
        &rel,
        input.name.clone(),
        quote!(#vis),
        quote!(::motornet::__private),
        Some(tracked),
    ) {
        Ok(tokens) => tokens,
        Err(report) => {
            // Name the stub after the file, so uses of the type do not add errors of their own.
            let stem = std::path::Path::new(&rel)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("model");
            let name = input
                .name
                .clone()
                .unwrap_or_else(|| format_ident!("{}", motornet_dsl::codegen::type_name(stem)));
            fail(
                format!("errors in model file {rel}:\n\n{report}"),
                Some(&name),
            )
        }
    }
}
