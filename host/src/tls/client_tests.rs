//! `[[client_tls]]` parsing and validation, against certificates made here with rcgen.

use std::path::Path;

use super::*;

/// A CA certificate, a client certificate it signed and that client's key, as PEM files in a
/// fresh directory: `ca.pem`, `client.pem`, `client.key`, plus `other.key` (an unrelated key)
/// and `empty.pem` (no PEM section).
fn pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let client = rcgen::CertificateParams::new(vec!["order-api".to_string()])
        .unwrap()
        .signed_by(&client_key, &*ca)
        .unwrap();
    let other_key = rcgen::KeyPair::generate().unwrap();
    let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
    write("ca.pem", ca.pem());
    write("client.pem", client.pem());
    write("client.key", client_key.serialize_pem());
    write("other.key", other_key.serialize_pem());
    write("empty.pem", "nothing here\n".to_string());
    dir
}

fn table(text: &str) -> Vec<toml::Table> {
    #[derive(serde::Deserialize)]
    struct File {
        client_tls: Vec<toml::Table>,
    }
    toml::from_str::<File>(text).unwrap().client_tls
}

fn parse_one(text: &str, base: &Path) -> Result<ClientTlsEntry, ClientTlsError> {
    parse_all(table(text), base).map(|mut all| all.remove(0))
}

fn field_error(text: &str, base: &Path) -> (usize, &'static str, FieldProblem) {
    match parse_all(table(text), base) {
        Err(ClientTlsError::Field {
            entry,
            field,
            problem,
        }) => (entry, field, problem),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_minimal_table_trusts_the_platform_roots_only_and_sends_no_certificate() {
    let entry = parse_one(
        "[[client_tls]]\ncomponent_ids = [\"order-api\"]\nhosts = [\"payments.internal\"]\n",
        Path::new("/nowhere"),
    )
    .unwrap();
    assert_eq!(entry.component_ids, ["order-api"]);
    assert_eq!(entry.hosts, ["payments.internal"]);
    assert!(entry.roots.platform);
    assert!(!entry.roots.webpki);
    assert!(entry.roots.extra.is_empty());
    assert!(entry.client_cert_chain.is_none());
    assert!(!entry.config().client_auth_cert_resolver.has_certs());
}

#[test]
fn a_full_table_loads_its_files_relative_to_the_base_directory() {
    let pki = pki();
    let entry = parse_one(
        "[[client_tls]]\ncomponent_ids = [\"order-api\", \"payment-listener\"]\n\
         hosts = [\"127.0.0.1\", \"payments.internal\"]\nca_use_webpki_roots = true\n\
         ca_roots_file = \"ca.pem\"\nclient_cert_file = \"client.pem\"\n\
         client_private_key_file = \"client.key\"\n",
        pki.path(),
    )
    .unwrap();
    assert!(
        !entry.roots.platform,
        "webpki set alone turns platform roots off"
    );
    assert!(entry.roots.webpki);
    assert_eq!(entry.roots.extra.len(), 1);
    assert_eq!(entry.client_cert_chain.as_ref().map(Vec::len), Some(1));
    assert!(entry.config().client_auth_cert_resolver.has_certs());
}

#[test]
fn a_ca_file_alone_turns_the_platform_roots_off() {
    let pki = pki();
    let entry = parse_one(
        "[[client_tls]]\ncomponent_ids = [\"order-api\"]\nhosts = [\"x\"]\nca_roots_file = \"ca.pem\"\n",
        pki.path(),
    )
    .unwrap();
    assert!(!entry.roots.platform);
    assert!(!entry.roots.webpki);
    let both = parse_one(
        "[[client_tls]]\ncomponent_ids = [\"order-api\"]\nhosts = [\"x\"]\n\
         ca_roots_file = \"ca.pem\"\nca_use_platform_roots = true\n",
        pki.path(),
    )
    .unwrap();
    assert!(both.roots.platform);
    assert_eq!(both.roots.extra.len(), 1);
}

#[test]
fn empty_lists_are_refused_naming_the_field() {
    let base = Path::new("/nowhere");
    let (entry, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h\"]\n\
         [[client_tls]]\ncomponent_ids = []\nhosts = [\"h\"]\n",
        base,
    );
    assert_eq!((entry, field), (2, "component_ids"));
    assert!(matches!(problem, FieldProblem::EmptyList));
    let (_, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = []\n",
        base,
    );
    assert_eq!(field, "hosts");
    assert!(matches!(problem, FieldProblem::EmptyList));
}

#[test]
fn a_certificate_without_its_key_and_a_key_without_its_certificate_are_refused() {
    let pki = pki();
    let (_, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h\"]\nclient_cert_file = \"client.pem\"\n",
        pki.path(),
    );
    assert_eq!(field, "client_cert_file");
    assert!(matches!(
        problem,
        FieldProblem::Unpaired("client_private_key_file")
    ));
    let (_, field, _) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h\"]\nclient_private_key_file = \"client.key\"\n",
        pki.path(),
    );
    assert_eq!(field, "client_private_key_file");
}

#[test]
fn hosts_with_ports_and_bad_component_ids_are_refused() {
    let base = Path::new("/nowhere");
    let (_, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h:8443\"]\n",
        base,
    );
    assert_eq!(field, "hosts");
    assert!(
        problem
            .to_string()
            .contains("ports not currently supported")
    );
    let (_, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"order_api\"]\nhosts = [\"h\"]\n",
        base,
    );
    assert_eq!(field, "component_ids");
    assert!(matches!(problem, FieldProblem::InvalidComponentId { .. }));
}

#[test]
fn unknown_and_missing_fields_are_shape_errors_naming_them() {
    let base = Path::new("/nowhere");
    let err = parse_all(
        table("[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h\"]\nca_file = \"x\"\n"),
        base,
    )
    .unwrap_err();
    assert!(matches!(err, ClientTlsError::Shape { entry: 1, .. }));
    assert!(err.to_string().contains("ca_file"), "{err}");
    let err = parse_all(table("[[client_tls]]\nhosts = [\"h\"]\n"), base).unwrap_err();
    assert!(err.to_string().contains("component_ids"), "{err}");
}

#[test]
fn a_table_that_trusts_nothing_is_refused() {
    let (_, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h\"]\nca_use_platform_roots = false\n",
        Path::new("/nowhere"),
    );
    assert_eq!(field, "ca_use_platform_roots");
    assert!(matches!(problem, FieldProblem::NoRoots));
}

#[test]
fn unusable_files_are_refused_naming_the_field_and_the_path() {
    let pki = pki();
    let (_, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h\"]\nca_roots_file = \"missing.pem\"\n",
        pki.path(),
    );
    assert_eq!(field, "ca_roots_file");
    assert!(problem.to_string().contains("missing.pem"), "{problem}");
    let (_, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h\"]\nca_roots_file = \"empty.pem\"\n",
        pki.path(),
    );
    assert_eq!(field, "ca_roots_file");
    assert!(matches!(
        problem,
        FieldProblem::File(PemFileError::NoCertificate { .. })
    ));
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let pki = pki();
    let (_, field, problem) = field_error(
        "[[client_tls]]\ncomponent_ids = [\"a\"]\nhosts = [\"h\"]\nca_roots_file = \"ca.pem\"\n\
         client_cert_file = \"client.pem\"\nclient_private_key_file = \"other.key\"\n",
        pki.path(),
    );
    assert_eq!(field, "client_private_key_file");
    assert!(matches!(problem, FieldProblem::Rustls(_)), "{problem}");
}

#[test]
fn the_default_configuration_trusts_platform_and_webpki_roots_without_a_certificate() {
    let config = default_config().unwrap();
    assert!(!config.client_auth_cert_resolver.has_certs());
    assert!(Roots::spin_default().store().unwrap().len() >= webpki_roots::TLS_SERVER_ROOTS.len());
}
