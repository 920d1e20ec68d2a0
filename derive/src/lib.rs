//! `#[derive(FromJson)]` and `#[derive(ToJson)]` for rowbatch-core's boundary types: read from an
//! already parsed `serde_json::Value` through `rowbatch_core::read`, written as JSON text through
//! `rowbatch_core::to_json`. Both honour the `#[serde(...)]` attributes serde users know
//! (`rename_all`, `rename`, `default`, `default = "fn"`, `deny_unknown_fields`,
//! `skip_serializing_if`, `flatten`), so a type's JSON is spelled once for both directions.
//!
//! Why not serde's derives: their code is generic over the (de)serializer and is instantiated with
//! serde_json's for every type, ~1–4 KB of module each. The code made here is plain calls into
//! shared readers and writers, and every read error carries its JSON path.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, parse_macro_input};

#[proc_macro_derive(FromJson, attributes(serde))]
pub fn derive_from_json(input: TokenStream) -> TokenStream {
    expand(input, from_json)
}

#[proc_macro_derive(ToJson, attributes(serde))]
pub fn derive_to_json(input: TokenStream) -> TokenStream {
    expand(input, to_json)
}

fn expand(input: TokenStream, make: fn(&DeriveInput, Shape) -> Tokens) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match shape(&input) {
        Ok(shape) => make(&input, shape).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Default)]
struct Attrs {
    rename_all: Option<String>,
    rename: Option<String>,
    /// `Some(None)` for `default`, `Some(Some(path))` for `default = "path"`.
    default: Option<Option<syn::ExprPath>>,
    deny_unknown_fields: bool,
    skip_serializing_if: Option<syn::ExprPath>,
    flatten: bool,
}

fn attrs(list: &[syn::Attribute]) -> syn::Result<Attrs> {
    let mut out = Attrs::default();
    for attr in list.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                out.rename_all = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("rename") {
                out.rename = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("default") {
                out.default = Some(match meta.value() {
                    Ok(v) => Some(v.parse::<LitStr>()?.parse()?),
                    Err(_) => None,
                });
            } else if meta.path.is_ident("deny_unknown_fields") {
                out.deny_unknown_fields = true;
            } else if meta.path.is_ident("skip_serializing_if") {
                out.skip_serializing_if = Some(meta.value()?.parse::<LitStr>()?.parse()?);
            } else if meta.path.is_ident("flatten") {
                out.flatten = true;
            } else {
                return Err(meta.error("rowbatch-derive does not support this serde attribute"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// A Rust identifier in the JSON spelling `rename_all` asks for.
fn renamed(ident: &str, rule: Option<&str>) -> syn::Result<String> {
    let words: Vec<String> = ident.split('_').filter(|w| !w.is_empty()).map(str::to_owned).collect();
    let words = if words.len() == 1 && ident.chars().next().is_some_and(char::is_uppercase) {
        // A variant name (PascalCase): split before each capital.
        let mut ws: Vec<String> = Vec::new();
        for c in ident.chars() {
            if c.is_uppercase() || ws.is_empty() {
                ws.push(String::new());
            }
            ws.last_mut().unwrap().push(c);
        }
        ws.into_iter().map(|w| w.to_lowercase()).collect()
    } else {
        words
    };
    Ok(match rule {
        None => ident.to_owned(),
        Some("camelCase") => words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { w.clone() } else { w[..1].to_uppercase() + &w[1..] })
            .collect(),
        Some("snake_case") => words.join("_"),
        Some(other) => {
            return Err(syn::Error::new(
                proc_macro2::Span::call_site(),
                format!("unsupported rename_all {other}"),
            ));
        }
    })
}

/// What both derives need of a type: its fields or unit variants, with their JSON names.
enum Shape<'a> {
    Struct { members: Vec<Member<'a>>, outer: Box<Attrs> },
    Enum(Vec<(&'a syn::Ident, String)>),
}

struct Member<'a> {
    ident: &'a syn::Ident,
    key: String,
    attrs: Attrs,
}

fn shape(input: &DeriveInput) -> syn::Result<Shape<'_>> {
    let outer = attrs(&input.attrs)?;
    let name = |ident: &syn::Ident, a: &Attrs| match &a.rename {
        Some(k) => Ok(k.clone()),
        None => renamed(&ident.to_string(), outer.rename_all.as_deref()),
    };
    match &input.data {
        Data::Struct(s) => {
            let Fields::Named(fields) = &s.fields else {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "rowbatch-derive: structs with named fields only",
                ));
            };
            let mut members = Vec::new();
            for f in &fields.named {
                let ident = f.ident.as_ref().unwrap();
                let attrs = attrs(&f.attrs)?;
                members.push(Member { ident, key: name(ident, &attrs)?, attrs });
            }
            Ok(Shape::Struct { members, outer: Box::new(outer) })
        }
        Data::Enum(e) => e
            .variants
            .iter()
            .map(|v| match v.fields {
                Fields::Unit => Ok((&v.ident, name(&v.ident, &attrs(&v.attrs)?)?)),
                _ => Err(syn::Error::new_spanned(v, "rowbatch-derive: enums of unit variants only")),
            })
            .collect::<syn::Result<_>>()
            .map(Shape::Enum),
        Data::Union(_) => Err(syn::Error::new_spanned(&input.ident, "rowbatch-derive: no unions")),
    }
}

fn from_json(input: &DeriveInput, shape: Shape) -> Tokens {
    let name = &input.ident;
    let body = match shape {
        Shape::Struct { members, outer } => {
            let inits = members.iter().map(|m| {
                let (ident, key) = (m.ident, &m.key);
                let default = match (&m.attrs.default, &outer.default) {
                    (Some(Some(path)), _) => quote!(Some(#path())),
                    (Some(None), _) => quote!(Some(::core::default::Default::default())),
                    (None, Some(_)) => quote!(Some(container.#ident)),
                    (None, None) => quote!(None),
                };
                quote!(#ident: fields.field(#key, #default)?)
            });
            let keys = members.iter().map(|m| &m.key);
            let container = outer
                .default
                .is_some()
                .then(|| quote!(let container = <#name as ::core::default::Default>::default();));
            let known = if outer.deny_unknown_fields { quote!(Some(&[#(#keys),*])) } else { quote!(None) };
            quote! {
                #container
                let mut fields = crate::read::Fields::new(v, at, #known)?;
                Ok(#name { #(#inits),* })
            }
        }
        Shape::Enum(variants) => {
            let names = variants.iter().map(|(_, n)| n);
            let last = variants.len() - 1;
            // The last arm takes every other index: `choice` returns only valid ones.
            let arms = variants.iter().enumerate().map(|(i, (ident, _))| {
                if i == last { quote!(_ => #name::#ident) } else { quote!(#i => #name::#ident) }
            });
            quote!(Ok(match crate::read::choice(&v, at, &[#(#names),*])? { #(#arms),* }))
        }
    };
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    quote! {
        impl #impl_g crate::read::FromJson for #name #ty_g #where_g {
            fn read(v: ::serde_json::Value, at: &crate::read::At) -> crate::read::Read<Self> {
                #body
            }
        }
    }
}

fn to_json(input: &DeriveInput, shape: Shape) -> Tokens {
    let name = &input.ident;
    let methods = match shape {
        Shape::Struct { members, .. } => {
            let writes = members.iter().map(|m| {
                let ident = m.ident;
                if m.attrs.flatten {
                    return quote!(crate::to_json::ToJson::write_fields(&self.#ident, out, first););
                }
                // Keys are written as they are: field names need no escaping.
                let key = format!("\"{}\":", m.key);
                let write = quote!(crate::to_json::field(out, first, #key, &self.#ident););
                match &m.attrs.skip_serializing_if {
                    Some(skip) => quote!(if !#skip(&self.#ident) { #write }),
                    None => write,
                }
            });
            quote! {
                fn write(&self, out: &mut String) {
                    out.push('{');
                    self.write_fields(out, &mut true);
                    out.push('}');
                }

                fn write_fields(&self, out: &mut String, first: &mut bool) {
                    #(#writes)*
                }
            }
        }
        Shape::Enum(variants) => {
            let arms = variants.iter().map(|(ident, n)| {
                let text = format!("\"{n}\"");
                quote!(#name::#ident => #text)
            });
            quote! {
                fn write(&self, out: &mut String) {
                    out.push_str(match self { #(#arms),* });
                }
            }
        }
    };
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    quote! {
        impl #impl_g crate::to_json::ToJson for #name #ty_g #where_g {
            #methods
        }
    }
}
