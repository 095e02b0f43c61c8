//! Identity logic against a real (in-memory) SQLite database and real token keys.

use crate::common;

use common::{app, login, params};

use ciel_controller::app::identity::assignments::{ActorKind, GrantRef, TargetKind};
use ciel_controller::app::identity::auth::AuthRequest;
use ciel_controller::app::identity::caller::Caller;
use ciel_controller::app::identity::params::{PasswordChange, ProjectCreate};
use ciel_controller::app::App;
use ciel_controller::error::Error;
use serde_json::json;

/// Creates project `p` and user `u` (password `pw`) holding `role` on it.
async fn member(app: &App, admin: &Caller, p: &str, u: &str, pw: &str, role: &str) -> (String, String) {
    let project = app.create_project(admin, params(json!({"name": p}))).await.unwrap();
    let user = app
        .create_user(admin, params(json!({"name": u, "password": pw})))
        .await
        .unwrap();
    common::grant_user_project(app, admin, &user.id, &project.id, role).await;
    (project.id.into_string(), user.id)
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_admin_can_log_in() {
    let (app, _d) = app().await;
    let again = app.bootstrap().await.unwrap();
    assert!(
        again.admin_password.is_none(),
        "unchanged password is not reported again"
    );
    let (token, caller) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    assert!(caller.is_admin());
    let names: Vec<_> = caller.grant.roles.iter().map(|r| r.name.as_str()).collect();
    assert!(
        names.contains(&"member") && names.contains(&"reader"),
        "implied roles expanded: {names:?}"
    );
    assert_eq!(app.validate_token(&token).await.unwrap().user_id(), caller.user_id());
}

#[tokio::test]
async fn wrong_password_then_lockout() {
    let (app, _d) = app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    member(&app, &admin, "pa", "ua", "pw-a", "member").await;
    for _ in 0..2 {
        assert!(matches!(
            login(&app, "ua", "bad", None).await,
            Err(Error::Unauthorized(_))
        ));
    }
    let locked = login(&app, "ua", "pw-a", Some("pa")).await;
    assert!(matches!(locked, Err(Error::Unauthorized(m)) if m.contains("locked")));
}

#[tokio::test]
async fn revocation_and_password_change_end_tokens() {
    let (app, _d) = app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let (_, uid) = member(&app, &admin, "pb", "ub", "pw-1", "member").await;
    let (t1, c1) = login(&app, "ub", "pw-1", Some("pb")).await.unwrap();
    app.revoke_token(&c1).await.unwrap();
    assert!(app.validate_token(&t1).await.is_err(), "revoked token is dead");

    let (t2, _) = login(&app, "ub", "pw-1", Some("pb")).await.unwrap();
    let change = |old: &str, new: &str| PasswordChange {
        original_password: old.into(),
        password: new.into(),
    };
    app.change_own_password(&uid, change("pw-1", "pw-2")).await.unwrap();
    assert!(app.validate_token(&t2).await.is_err(), "password change revokes tokens");
    let reuse = app.change_own_password(&uid, change("pw-2", "pw-1")).await;
    assert!(matches!(reuse, Err(Error::BadRequest(_))), "history forbids reuse");
    assert!(login(&app, "ub", "pw-2", Some("pb")).await.is_ok());
}

#[tokio::test]
async fn role_removal_takes_effect_on_existing_tokens() {
    let (app, _d) = app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let (pid, uid) = member(&app, &admin, "pc", "uc", "pw", "member").await;
    let (token, _) = login(&app, "uc", "pw", Some("pc")).await.unwrap();
    let role_id = app
        .list_roles(&admin)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "member")
        .unwrap()
        .id;
    let g = GrantRef {
        actor: ActorKind::User,
        actor_id: uid,
        target: TargetKind::Project,
        target_id: pid,
        role_id,
        inherited: false,
    };
    app.revoke_grant(&admin, g).await.unwrap();
    assert!(app.validate_token(&token).await.is_err());
}

#[tokio::test]
async fn inherited_group_assignment_reaches_subprojects() {
    let (app, _d) = app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let parent = app
        .create_project(&admin, params(json!({"name": "parent"})))
        .await
        .unwrap();
    app.create_project(&admin, params(json!({"name": "child", "parent_id": parent.id})))
        .await
        .unwrap();
    let user = app
        .create_user(&admin, params(json!({"name": "ud", "password": "pw"})))
        .await
        .unwrap();
    let group = app.create_group(&admin, params(json!({"name": "devs"}))).await.unwrap();
    app.add_group_member(&admin, &group.id, &user.id).await.unwrap();
    let reader = app
        .list_roles(&admin)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "reader")
        .unwrap()
        .id;
    let g = GrantRef {
        actor: ActorKind::Group,
        actor_id: group.id,
        target: TargetKind::Project,
        target_id: parent.id.into_string(),
        role_id: reader,
        inherited: true,
    };
    app.grant_role(&admin, g).await.unwrap();
    assert!(
        login(&app, "ud", "pw", Some("parent")).await.is_err(),
        "inherited grant skips the target itself"
    );
    let (_, c) = login(&app, "ud", "pw", Some("child")).await.unwrap();
    assert_eq!(
        c.grant.roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["reader"]
    );
}

#[tokio::test]
async fn members_cannot_see_other_projects_or_administer() {
    let (app, _d) = app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let (pa, _) = member(&app, &admin, "proj-a", "alice", "pw", "member").await;
    member(&app, &admin, "proj-b", "bob", "pw", "member").await;
    let (_, bob) = login(&app, "bob", "pw", Some("proj-b")).await.unwrap();
    assert!(matches!(app.get_project(&bob, &pa).await, Err(Error::Forbidden(_))));
    assert!(matches!(app.list_projects(&bob).await, Err(Error::Forbidden(_))));
    assert!(matches!(
        app.create_user(&bob, params(json!({"name": "x"}))).await,
        Err(Error::Forbidden(_))
    ));
    let mine = app.list_user_projects(&bob, bob.user_id()).await.unwrap();
    assert_eq!(mine.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), vec!["proj-b"]);
}

#[tokio::test]
async fn application_credential_delegates_only_chosen_roles() {
    let (app, _d) = app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let (_, uid) = member(&app, &admin, "pe", "ue", "pw", "member").await;
    let (_, me) = login(&app, "ue", "pw", Some("pe")).await.unwrap();
    let new = app
        .create_app_cred(
            &me,
            &uid,
            params(json!({"name": "ci", "secret": "s3", "roles": [{"name": "reader"}]})),
        )
        .await
        .unwrap();
    let req: AuthRequest = serde_json::from_value(json!({"identity": {"methods": ["application_credential"],
        "application_credential": {"id": new.cred.id, "secret": "s3"}}}))
    .unwrap();
    let issued = app.authenticate(req).await.unwrap();
    let names: Vec<_> = issued.caller.grant.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["reader"]);
    let bad: AuthRequest = serde_json::from_value(json!({"identity": {"methods": ["application_credential"],
        "application_credential": {"id": new.cred.id, "secret": "nope"}}}))
    .unwrap();
    assert!(matches!(app.authenticate(bad).await, Err(Error::Unauthorized(_))));
}

#[tokio::test]
async fn failed_create_leaves_nothing_behind() {
    let (app, _d) = app().await;
    let (_, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    let before = app.list_projects(&admin).await.unwrap().len();
    let bad_tag = serde_json::from_value::<ProjectCreate>(json!({"name": "t", "tags": ["a/b"]}));
    assert_eq!(
        bad_tag.unwrap_err().to_string(),
        "Invalid input for field 'tags': 'a/b' is not a valid tag"
    );
    let dup = app.create_project(&admin, params(json!({"name": "admin"}))).await;
    assert!(matches!(dup, Err(Error::Conflict(_))));
    assert_eq!(app.list_projects(&admin).await.unwrap().len(), before);
}

#[tokio::test]
async fn only_the_tokens_user_or_an_admin_may_inspect_it() {
    let (app, _d) = app().await;
    let (admin_token, admin) = login(&app, "admin", "adminpw", Some("admin")).await.unwrap();
    member(&app, &admin, "proj-a", "alice", "pw", "member").await;
    member(&app, &admin, "proj-b", "bob", "pw", "member").await;
    let (alice_token, alice) = login(&app, "alice", "pw", Some("proj-a")).await.unwrap();
    let (_, bob) = login(&app, "bob", "pw", Some("proj-b")).await.unwrap();
    let action = "identity:validate_token";
    let own = app.token_subject(&alice, action, &alice_token).await.unwrap();
    assert_eq!(own.user_id(), alice.user_id());
    let seen_by_admin = app.token_subject(&admin, action, &alice_token).await.unwrap();
    assert_eq!(seen_by_admin.user_id(), alice.user_id());
    for action in [action, "identity:check_token", "identity:revoke_token"] {
        assert!(
            matches!(
                app.token_subject(&bob, action, &alice_token).await,
                Err(Error::Forbidden(_))
            ),
            "{action}"
        );
    }
    assert!(matches!(
        app.token_subject(&bob, action, &admin_token).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        app.token_subject(&admin, action, "not-a-token").await,
        Err(Error::NotFound { .. })
    ));
}
