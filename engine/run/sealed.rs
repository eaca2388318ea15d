//! sealed: how values that contain a declared secret are stored in the journal. Masking
//! would corrupt them (a snapshot name containing the password `camunda` would come back
//! as `***_webapps_...`), so each occurrence is stored as a reference to the secret param
//! instead: `{"$secret_ref": ["", {"param": "datastore_password"}, "_webapps_1"]}`. The
//! journal then holds no secret, and `recover` rebuilds the exact value from the secret read
//! again from its env. It knows nothing of display: that is `redact`.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};

/// A journaled value names a secret param that is not given now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a journaled value refers to secret param `{0}`, which is not set")]
pub struct MissingSecret(pub String);

/// The key of a sealed string.
pub const KEY: &str = "$secret_ref";

/// `v` with every string that contains a secret value replaced by its sealed form.
/// `secrets` are (param name, value); empty values are ignored.
pub fn seal(v: &Json, secrets: &[(String, String)]) -> Json {
    match v {
        Json::String(s) => seal_str(s, secrets),
        Json::Array(a) => Json::Array(a.iter().map(|x| seal(x, secrets)).collect()),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), seal(x, secrets)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Seals every value of a map.
pub fn seal_map(m: &Map<String, Json>, secrets: &[(String, String)]) -> Map<String, Json> {
    m.iter()
        .map(|(k, v)| (k.clone(), seal(v, secrets)))
        .collect()
}

fn seal_str(s: &str, secrets: &[(String, String)]) -> Json {
    let mut longest_first: Vec<&(String, String)> =
        secrets.iter().filter(|(_, v)| !v.is_empty()).collect();
    longest_first.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    if !longest_first.iter().any(|(_, v)| s.contains(v.as_str())) {
        return Json::String(s.to_string());
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let next = longest_first
            .iter()
            .filter_map(|(name, v)| rest.find(v.as_str()).map(|i| (i, name, v)))
            .min_by_key(|(i, _, v)| (*i, std::cmp::Reverse(v.len())));
        match next {
            Some((i, name, v)) => {
                parts.push(Json::String(rest[..i].to_string()));
                parts.push(json!({"param": name}));
                rest = &rest[i + v.len()..];
            }
            None => {
                parts.push(Json::String(rest.to_string()));
                rest = "";
            }
        }
    }
    json!({ KEY: parts })
}

/// The value `seal` stored, rebuilt with `secrets` (param name to value). A reference to a
/// secret that is not given is an error naming it.
pub fn unseal(v: &Json, secrets: &HashMap<String, String>) -> Result<Json, MissingSecret> {
    match v {
        Json::Object(m) if m.len() == 1 && m.contains_key(KEY) => {
            let mut out = String::new();
            for part in m[KEY].as_array().into_iter().flatten() {
                match part {
                    Json::String(s) => out.push_str(s),
                    other => {
                        let name = other["param"].as_str().unwrap_or("?");
                        let value = secrets
                            .get(name)
                            .ok_or_else(|| MissingSecret(name.into()))?;
                        out.push_str(value);
                    }
                }
            }
            Ok(Json::String(out))
        }
        Json::Array(a) => a
            .iter()
            .map(|x| unseal(x, secrets))
            .collect::<Result<_, _>>()
            .map(Json::Array),
        Json::Object(m) => m
            .iter()
            .map(|(k, x)| unseal(x, secrets).map(|x| (k.clone(), x)))
            .collect::<Result<_, _>>()
            .map(Json::Object),
        other => Ok(other.clone()),
    }
}

/// `v` for display where the secrets are not at hand (progress lines): each sealed string
/// shown with `***` in place of the secret. Only for values that resume never reads.
pub fn masked(v: &Json) -> Json {
    match v {
        Json::Object(m) if m.len() == 1 && m.contains_key(KEY) => {
            let parts = m[KEY].as_array().into_iter().flatten();
            Json::String(
                parts
                    .map(|p| p.as_str().unwrap_or("***"))
                    .collect::<String>(),
            )
        }
        Json::Array(a) => Json::Array(a.iter().map(masked).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), masked(x))).collect()),
        other => other.clone(),
    }
}

/// Unseals every value of a map.
pub fn unseal_map(
    m: &Map<String, Json>,
    secrets: &HashMap<String, String>,
) -> Result<Map<String, Json>, MissingSecret> {
    m.iter()
        .map(|(k, v)| unseal(v, secrets).map(|v| (k.clone(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_hides_the_secret() {
        let secrets = vec![("pw".to_string(), "camunda".to_string())];
        let v = json!({"names": ["camunda_webapps_1", "zeebe", "x-camunda-camunda"], "n": 3});
        let sealed = seal(&v, &secrets);
        assert!(!sealed.to_string().contains("camunda"), "{sealed}");
        let map: HashMap<String, String> = secrets.into_iter().collect();
        assert_eq!(unseal(&sealed, &map).unwrap(), v);
        let err = unseal(&sealed, &HashMap::new()).unwrap_err();
        assert_eq!(err, MissingSecret("pw".into()));
        assert!(err.to_string().contains("`pw`"), "{err}");
        assert_eq!(
            masked(&sealed)["names"],
            json!(["***_webapps_1", "zeebe", "x-***-***"])
        );
    }
}
