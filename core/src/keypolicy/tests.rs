#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;
use crate::EncryptionContext;

const ACCOUNT: &str = "111122223333";
const ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

fn request<'a>(
    principal: &'a str,
    action: &'a str,
    context: Option<&'a EncryptionContext>,
) -> Request<'a> {
    Request {
        principal,
        account: ACCOUNT,
        action,
        resource: Some(ARN),
        context,
        via_service: None,
        grant_is_for_aws_resource: None,
    }
}

fn doc(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[test]
fn the_default_policy_leaves_every_caller_to_the_access_policy() {
    let d = default_document(ACCOUNT);
    for action in ["kms:Decrypt", "kms:PutKeyPolicy", "kms:DescribeKey"] {
        assert!(
            evaluate(&d, &request("alice", action, None)).allowed(),
            "{action}"
        );
    }
    assert!(is_default(&d, ACCOUNT));
    assert!(!is_default(&d, "999999999999"));
    // Another account's root names nobody here.
    let other = default_document("999999999999");
    assert_eq!(
        evaluate(&other, &request("alice", "kms:Decrypt", None)),
        Decision::ImplicitDeny
    );
    validate(&d.to_string()).unwrap();
}

#[test]
fn explicit_deny_wins_and_nothing_is_allowed_by_default() {
    let d = doc(json!([
        {"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
        {"Sid": "no-decrypt", "Effect": "Deny", "Principal": {"AWS": "*"},
         "Action": "kms:Decrypt", "Resource": "*"}
    ]));
    assert_eq!(
        evaluate(&d, &request("alice", "kms:Decrypt", None)),
        Decision::ExplicitDeny {
            sid: Some("no-decrypt".into())
        }
    );
    assert_eq!(
        evaluate(&d, &request("alice", "kms:Encrypt", None)),
        Decision::Allow {
            sid: Some("all".into())
        }
    );
    let empty = doc(json!([
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}
    ]));
    let d = evaluate(&empty, &request("alice", "kms:Decrypt", None));
    assert_eq!(d, Decision::ImplicitDeny);
    assert!(d.reason("kms:Decrypt").contains("no statement"));
    assert_eq!(
        evaluate(&json!({}), &request("a", "kms:Encrypt", None)),
        Decision::ImplicitDeny
    );
}

#[test]
fn principals_name_callers_by_arn_name_account_or_wildcard() {
    let only = |p: Value| {
        doc(json!([{"Effect": "Allow", "Principal": p, "Action": "kms:*", "Resource": "*"}]))
    };
    let allowed = |d: &Value, who: &str| evaluate(d, &request(who, "kms:Encrypt", None)).allowed();
    let by_arn = only(json!({"AWS": "arn:aws:iam::111122223333:user/alice"}));
    assert!(allowed(&by_arn, "alice"));
    assert!(!allowed(&by_arn, "bob"));
    let by_name = only(json!({"AWS": ["bob", "carol"]}));
    assert!(allowed(&by_name, "carol"));
    assert!(!allowed(&by_name, "alice"));
    assert!(allowed(&only(json!({"AWS": ACCOUNT})), "anyone"));
    assert!(allowed(&only(json!("*")), "anyone"));
    assert!(!allowed(
        &only(json!({"Service": "logs.amazonaws.com"})),
        "alice"
    ));
    // Characters IAM names cannot hold read as `-` in the caller's ARN.
    let odd = only(json!({"AWS": "arn:aws:iam::111122223333:user/svc-app"}));
    assert!(allowed(&odd, "svc:app"));
    assert_eq!(
        request("svc:app", "kms:Encrypt", None).principal_arn(),
        "arn:aws:iam::111122223333:user/svc-app"
    );
    // NotPrincipal with Deny: everyone but the named caller is refused.
    let d = doc(json!([
        {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": "alice"}, "Action": "kms:Decrypt", "Resource": "*"}
    ]));
    assert!(evaluate(&d, &request("alice", "kms:Decrypt", None)).allowed());
    assert!(!evaluate(&d, &request("bob", "kms:Decrypt", None)).allowed());
}

#[test]
fn actions_match_with_wildcards_case_insensitively_and_not_action_inverts() {
    let d = doc(json!([
        {"Effect": "Allow", "Principal": "*", "Action": ["KMS:describe*", "kms:Get*"], "Resource": "*"}
    ]));
    assert!(evaluate(&d, &request("a", "kms:DescribeKey", None)).allowed());
    assert!(evaluate(&d, &request("a", "kms:GetPublicKey", None)).allowed());
    assert!(!evaluate(&d, &request("a", "kms:Decrypt", None)).allowed());
    let d = doc(json!([
        {"Effect": "Allow", "Principal": "*", "NotAction": "kms:ScheduleKeyDeletion", "Resource": "*"}
    ]));
    assert!(evaluate(&d, &request("a", "kms:Decrypt", None)).allowed());
    assert!(!evaluate(&d, &request("a", "kms:ScheduleKeyDeletion", None)).allowed());
}

#[test]
fn resources_are_star_or_the_keys_arn() {
    let on = |r: Value| {
        doc(json!([{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": r}]))
    };
    assert!(evaluate(&on(json!(ARN)), &request("a", "kms:Encrypt", None)).allowed());
    assert!(
        evaluate(
            &on(json!("arn:aws:kms:*:111122223333:key/*")),
            &request("a", "kms:Encrypt", None)
        )
        .allowed()
    );
    assert!(
        !evaluate(
            &on(json!("arn:aws:kms:us-east-1:111122223333:key/other")),
            &request("a", "kms:Encrypt", None)
        )
        .allowed()
    );
    // Without the key's ARN only `*` applies.
    let mut r = request("a", "kms:Encrypt", None);
    r.resource = None;
    assert!(!evaluate(&on(json!(ARN)), &r).allowed());
    assert!(evaluate(&on(json!("*")), &r).allowed());
}

#[test]
fn a_deny_unless_the_encryption_context_matches() {
    let d = doc(json!([
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "need-tenant", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt",
         "Resource": "*",
         "Condition": {"StringNotEquals": {"kms:EncryptionContext:tenant": ["acme", "globex"]}}}
    ]));
    let acme = EncryptionContext::new().with("Tenant", "acme");
    let other = EncryptionContext::new().with("tenant", "initech");
    let upper = EncryptionContext::new().with("tenant", "ACME");
    assert!(
        evaluate(&d, &request("a", "kms:Decrypt", Some(&acme))).allowed(),
        "key names are case-insensitive"
    );
    assert!(!evaluate(&d, &request("a", "kms:Decrypt", Some(&other))).allowed());
    assert!(
        !evaluate(&d, &request("a", "kms:Decrypt", Some(&upper))).allowed(),
        "values are case-sensitive"
    );
    assert!(
        !evaluate(&d, &request("a", "kms:Decrypt", None)).allowed(),
        "an absent key matches a negated operator"
    );
    assert!(evaluate(&d, &request("a", "kms:Encrypt", None)).allowed());
}

fn with_condition(condition: Value) -> Value {
    doc(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": condition}]),
    )
}

fn allows(condition: Value, context: Option<&EncryptionContext>) -> bool {
    evaluate(
        &with_condition(condition),
        &request("alice", "kms:Decrypt", context),
    )
    .allowed()
}

#[test]
fn string_operators() {
    let ctx = EncryptionContext::new()
        .with("app", "billing-eu")
        .with("env", "prod");
    let c = Some(&ctx);
    assert!(allows(
        json!({"StringEquals": {"kms:EncryptionContext:app": "billing-eu"}}),
        c
    ));
    assert!(!allows(
        json!({"StringEquals": {"kms:EncryptionContext:app": "BILLING-EU"}}),
        c
    ));
    assert!(allows(
        json!({"StringEqualsIgnoreCase": {"kms:EncryptionContext:app": "BILLING-EU"}}),
        c
    ));
    assert!(!allows(
        json!({"StringNotEqualsIgnoreCase": {"kms:EncryptionContext:app": "BILLING-EU"}}),
        c
    ));
    assert!(allows(
        json!({"StringLike": {"kms:EncryptionContext:app": "billing-*"}}),
        c
    ));
    assert!(!allows(
        json!({"StringNotLike": {"kms:EncryptionContext:app": ["x", "billing-??"]}}),
        c
    ));
    assert!(allows(
        json!({"StringNotLike": {"kms:EncryptionContext:app": "x*"}}),
        c
    ));
    // Every key and every operator must match.
    assert!(!allows(
        json!({"StringEquals": {"kms:EncryptionContext:app": "billing-eu",
                                             "kms:EncryptionContext:env": "dev"}}),
        c
    ));
    assert!(!allows(
        json!({"StringEquals": {"kms:EncryptionContext:app": "billing-eu"},
                           "StringLike": {"kms:EncryptionContext:env": "d*"}}),
        c
    ));
    // A positive operator on an absent or unknown key does not match; IfExists does.
    assert!(!allows(
        json!({"StringEquals": {"kms:EncryptionContext:missing": "x"}}),
        c
    ));
    assert!(!allows(
        json!({"StringEquals": {"aws:SourceIp": "10.0.0.1"}}),
        c
    ));
    assert!(allows(
        json!({"StringEqualsIfExists": {"kms:EncryptionContext:missing": "x"}}),
        c
    ));
    assert!(!allows(
        json!({"StringEqualsIfExists": {"kms:EncryptionContext:app": "x"}}),
        c
    ));
    // An operator keygate does not evaluate never matches.
    assert!(!allows(
        json!({"NumericLessThan": {"kms:EncryptionContext:app": "3"}}),
        c
    ));
}

#[test]
fn multi_valued_keys_and_set_qualifiers() {
    let ctx = EncryptionContext::new()
        .with("app", "x")
        .with("env", "prod");
    let c = Some(&ctx);
    assert!(allows(
        json!({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "env"}}),
        c
    ));
    assert!(!allows(
        json!({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "tenant"}}),
        c
    ));
    assert!(allows(
        json!({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["app", "env", "x"]}}),
        c
    ));
    assert!(!allows(
        json!({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["app"]}}),
        c
    ));
    assert!(allows(
        json!({"ForAllValues:StringLike": {"kms:EncryptionContextKeys": "*"}}),
        c
    ));
    // No context: ForAllValues holds vacuously, ForAnyValue does not.
    assert!(allows(
        json!({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "app"}}),
        None
    ));
    assert!(!allows(
        json!({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "app"}}),
        None
    ));
    assert!(!allows(
        json!({"ForAnyValue:StringNotEquals": {"kms:EncryptionContextKeys": ["app", "env"]}}),
        c
    ));
}

#[test]
fn null_bool_arn_and_request_keys() {
    let ctx = EncryptionContext::new().with("app", "x");
    let c = Some(&ctx);
    assert!(allows(
        json!({"Null": {"kms:EncryptionContext:app": "false"}}),
        c
    ));
    assert!(!allows(
        json!({"Null": {"kms:EncryptionContext:app": "true"}}),
        c
    ));
    assert!(allows(
        json!({"Null": {"kms:EncryptionContextKeys": true}}),
        None
    ));
    assert!(allows(json!({"Null": {"kms:ViaService": "true"}}), c));
    assert!(!allows(
        json!({"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}),
        c
    ));
    assert!(allows(
        json!({"StringEquals": {"kms:CallerAccount": ACCOUNT}}),
        c
    ));
    assert!(!allows(
        json!({"StringEquals": {"kms:CallerAccount": "999999999999"}}),
        c
    ));
    assert!(allows(
        json!({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/alice"}}),
        c
    ));
    assert!(allows(
        json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/a*"}}),
        c
    ));
    assert!(!allows(
        json!({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/alice"}}),
        c
    ));
    assert!(allows(
        json!({"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/bob"}}),
        c
    ));
    // Bool: only grant operations carry kms:GrantIsForAWSResource.
    assert!(!allows(
        json!({"Bool": {"kms:GrantIsForAWSResource": "true"}}),
        c
    ));
    let d = with_condition(json!({"Bool": {"kms:GrantIsForAWSResource": true}}));
    let mut r = request("alice", "kms:CreateGrant", None);
    r.grant_is_for_aws_resource = Some(true);
    assert!(evaluate(&d, &r).allowed());
    r.grant_is_for_aws_resource = Some(false);
    assert!(!evaluate(&d, &r).allowed());
    let r = request("alice", "kms:CreateGrant", None);
    let via =
        with_condition(json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}));
    let mut with_via = r.clone();
    with_via.via_service = Some("s3.us-east-1.amazonaws.com");
    assert!(evaluate(&via, &with_via).allowed());
    assert!(!evaluate(&via, &r).allowed());
}

#[test]
fn documents_are_validated_as_aws_validates_them() {
    let good = r#"{"Version":"2012-10-17","Id":"p","Statement":[{"Sid":"a","Effect":"Deny",
        "NotPrincipal":{"AWS":["x"]},"NotAction":"kms:Encrypt","Resource":"*",
        "Condition":{"StringEquals":{"kms:EncryptionContext:k":["v",true,3]}}}]}"#;
    validate(good).unwrap();
    for bad in [
        "not json",
        "[]",
        "{}",
        r#"{"Statement":[]}"#,
        r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
        r#"{"Extra":1,"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"kms:*","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Principal":{"Group":"x"},"Action":"kms:*","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":5,"Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Colour":"red"}}"#,
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":"x"}}}"#,
    ] {
        let e = validate(bad).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
    }
    let huge = format!(
        r#"{{"Statement":{{"Sid":"{}","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}}}"#,
        "x".repeat(MAX_DOCUMENT_BYTES)
    );
    assert!(validate(&huge).unwrap_err().to_string().contains("limit"));
}

#[test]
fn unsupported_operators_are_named_and_documents_compact_verbatim() {
    let d: Value = serde_json::from_str(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
            "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringLike":{"a":"b"},
                         "DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}"#,
    )
    .unwrap();
    assert_eq!(unsupported_operators(&d), vec!["DateLessThan", "IpAddress"]);
    assert!(unsupported_operators(&default_document(ACCOUNT)).is_empty());
    let text =
        "{ \"Statement\" : [ {\"Sid\": \"a b\\\" c\",\n \"Effect\":\"Allow\"} ],\n \"Id\": \"z\" }";
    assert_eq!(
        compact(text),
        r#"{"Statement":[{"Sid":"a b\" c","Effect":"Allow"}],"Id":"z"}"#
    );
    let native = crate::NativePolicy {
        format: crate::native::aws::FORMAT.into(),
        document: Value::String(compact(text)),
    };
    assert_eq!(document_of(&native).unwrap()["Id"], "z");
    let other = crate::NativePolicy {
        format: "gcp-iam".into(),
        document: json!({}),
    };
    assert!(document_of(&other).is_none());
}
