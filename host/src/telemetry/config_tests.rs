use std::collections::HashMap;

use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Option<TracesConfig>, ConfigError> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TracesConfig::from_env(|name| env.get(name).cloned())
}

fn enabled(vars: &[(&str, &str)]) -> TracesConfig {
    config(vars).expect("valid").expect("enabled")
}

#[test]
fn off_when_no_endpoint_variable_is_set_or_they_are_empty() {
    assert_eq!(config(&[]), Ok(None));
    assert_eq!(config(&[(OTEL_EXPORTER_OTLP_PROTOCOL, "grpc")]), Ok(None));
    assert_eq!(
        config(&[
            (OTEL_EXPORTER_OTLP_ENDPOINT, ""),
            (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "")
        ]),
        Ok(None)
    );
}

#[test]
fn any_non_empty_otel_sdk_disabled_turns_it_off_as_on_spin() {
    for value in ["true", "1", "false"] {
        assert_eq!(
            config(&[
                (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
                (OTEL_SDK_DISABLED, value)
            ]),
            Ok(None),
            "{value}"
        );
    }
    assert!(
        config(&[
            (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
            (OTEL_SDK_DISABLED, "")
        ])
        .unwrap()
        .is_some()
    );
}

#[test]
fn http_protobuf_is_the_default_and_appends_v1_traces_to_the_base_endpoint() {
    let c = enabled(&[(OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318")]);
    assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(c.endpoint_variable, OTEL_EXPORTER_OTLP_ENDPOINT);
    let slash = enabled(&[(OTEL_EXPORTER_OTLP_ENDPOINT, "https://collector/otlp/")]);
    assert_eq!(slash.endpoint, "https://collector/otlp/v1/traces");
}

#[test]
fn the_traces_endpoint_is_used_as_is_and_wins_over_the_base() {
    let c = enabled(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://base:4318"),
        (
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            "http://traces:9999/custom",
        ),
    ]);
    assert_eq!(c.endpoint, "http://traces:9999/custom");
    assert_eq!(c.endpoint_variable, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

#[test]
fn grpc_uses_the_base_endpoint_without_a_path() {
    let c = enabled(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4317"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
    ]);
    assert_eq!(c.protocol, OtlpProtocol::Grpc);
    assert_eq!(c.endpoint, "http://collector:4317");
}

#[test]
fn the_traces_protocol_wins_over_the_general_one() {
    let c = enabled(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4317"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "http/protobuf"),
        (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "grpc"),
    ]);
    assert_eq!(c.protocol, OtlpProtocol::Grpc);
}

#[test]
fn an_unknown_protocol_falls_back_to_http_protobuf_with_a_warning() {
    let c = enabled(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "carrier-pigeon"),
    ]);
    assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].contains("carrier-pigeon"), "{:?}", c.warnings);
}

#[test]
fn http_json_is_refused_naming_the_variable() {
    let err = config(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
        (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "http/json"),
    ])
    .unwrap_err();
    assert_eq!(
        err,
        ConfigError::HttpJsonUnsupported {
            variable: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
        }
    );
}

#[test]
fn an_endpoint_that_is_not_an_http_url_is_refused_naming_the_variable() {
    for bad in ["collector:4318", "ftp://collector", "not a url", "http://"] {
        let err = config(&[(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, bad)]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
            "{bad}: {err}"
        );
    }
}

#[test]
fn timeouts_and_batch_settings_have_the_specification_defaults() {
    let c = enabled(&[(OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318")]);
    assert_eq!(c.timeout, Duration::from_secs(10));
    assert_eq!(c.max_queue_size, 2048);
    assert_eq!(c.max_export_batch_size, 512);
    assert_eq!(c.scheduled_delay, Duration::from_millis(5000));
    assert_eq!(c.service_name, "spin");
    assert!(c.warnings.is_empty());
}

#[test]
fn timeouts_and_batch_settings_are_read_in_milliseconds_and_counts() {
    let c = enabled(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
        (OTEL_EXPORTER_OTLP_TIMEOUT, "2500"),
        (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, "700"),
        (OTEL_BSP_MAX_QUEUE_SIZE, "100"),
        (OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "400"),
        (OTEL_BSP_SCHEDULE_DELAY, "200"),
    ]);
    assert_eq!(c.timeout, Duration::from_millis(700));
    assert_eq!(c.max_queue_size, 100);
    assert_eq!(c.max_export_batch_size, 100, "never above the queue size");
    assert_eq!(c.scheduled_delay, Duration::from_millis(200));
}

#[test]
fn unparsable_numbers_are_ignored_with_a_warning() {
    let c = enabled(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
        (OTEL_EXPORTER_OTLP_TIMEOUT, "soon"),
        (OTEL_BSP_MAX_QUEUE_SIZE, "0"),
    ]);
    assert_eq!(c.timeout, DEFAULT_TIMEOUT);
    assert_eq!(c.max_queue_size, DEFAULT_MAX_QUEUE_SIZE);
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
}

#[test]
fn service_name_comes_from_otel_service_name_then_resource_attributes_then_spin() {
    let base = (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318");
    let from_attrs = enabled(&[
        base,
        (
            OTEL_RESOURCE_ATTRIBUTES,
            "deployment.environment=dev,service.name=orders",
        ),
    ]);
    assert_eq!(from_attrs.service_name, "orders");
    let explicit = enabled(&[
        base,
        (OTEL_SERVICE_NAME, "order-service"),
        (OTEL_RESOURCE_ATTRIBUTES, "service.name=orders"),
    ]);
    assert_eq!(explicit.service_name, "order-service");
}
