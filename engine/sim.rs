//! sim: the built-in simulator of Camunda 8.8/8.7, Elasticsearch/OpenSearch and a small
//! Kubernetes API, serving on 127.0.0.1 what the shipped plans use.
pub mod kube;
