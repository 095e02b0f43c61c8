//! Port, network, image and volume listings with `limit` read their pages from an index and
//! continue after the marker, a chunk at a time while filters keep too few rows: followed
//! page by page through their `next` links they must give exactly what the whole-table
//! listing (an explicit sort, read in memory) gives, in the same order, for every caller.

use crate::volume_admin::{call, Cloud};
use axum::http::StatusCode;
use serde_json::{json, Value};

/// The ids of `key` in `uri`'s answer and its next link (Neutron's and Cinder's in
/// `<key>_links`, Glance's in `next`).
async fn page(c: &Cloud, token: &str, uri: &str, key: &str) -> (Vec<String>, Option<String>) {
    let r = call(&c.app, token, "GET", uri, "3.0", None).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.json);
    let ids = r.json[key]
        .as_array()
        .unwrap_or_else(|| panic!("{uri}: {}", r.json))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let next = r.json[format!("{key}_links")]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
        .or_else(|| r.json.get("next").filter(|n| n.is_string()))
        .map(|n| n.get("href").unwrap_or(n).as_str().unwrap().to_string());
    (ids, next)
}

/// Every id of a listing followed through its next links from `first`; each page holds at
/// most `limit`. `path_of` turns a next link into a request path.
async fn follow(
    c: &Cloud,
    token: &str,
    first: &str,
    key: &str,
    limit: usize,
    path_of: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut all = vec![];
    let mut uri = first.to_string();
    for _ in 0..500 {
        let (ids, next) = page(c, token, &uri, key).await;
        assert!(ids.len() <= limit, "{uri}: {} items", ids.len());
        all.extend(ids);
        match next {
            Some(n) => uri = path_of(&n),
            None => return all,
        }
    }
    panic!("{first}: the next links never end");
}

fn below(prefix: &str) -> impl Fn(&str) -> String + '_ {
    move |href: &str| {
        let at = href
            .find(prefix)
            .unwrap_or_else(|| panic!("{href} is not below {prefix}"));
        href[at..].to_string()
    }
}

fn no_duplicates(ids: &[String]) {
    let mut sorted = ids.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "a listing repeated an item");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neutron_pages_follow_the_id_order_of_the_whole_listing() {
    let c = Cloud::new().await;
    let net = call(
        &c.app,
        &c.a,
        "POST",
        "/network/v2.0/networks",
        "3.0",
        Some(json!({"network": {"name": "pn"}})),
    )
    .await;
    assert_eq!(net.status, StatusCode::CREATED, "{}", net.json);
    let net = net.json["network"]["id"].as_str().unwrap().to_string();
    let sub = json!({"subnet": {"network_id": net, "cidr": "10.9.0.0/22", "ip_version": 4}});
    let r = call(&c.app, &c.a, "POST", "/network/v2.0/subnets", "3.0", Some(sub)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    // 230 ports of project A in bulk (more than one chunk of 100), every 50th named "rare";
    // 3 of project B.
    let ports: Vec<Value> = (0..230)
        .map(|i| json!({"network_id": net, "name": if i % 50 == 7 { "rare" } else { "common" }}))
        .collect();
    let r = call(
        &c.app,
        &c.a,
        "POST",
        "/network/v2.0/ports",
        "3.0",
        Some(json!({ "ports": ports })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let tagged = r.json["ports"][120]["id"].as_str().unwrap().to_string();
    let r = call(
        &c.app,
        &c.a,
        "PUT",
        &format!("/network/v2.0/ports/{tagged}/tags/blue"),
        "3.0",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let bnet = call(
        &c.app,
        &c.b,
        "POST",
        "/network/v2.0/networks",
        "3.0",
        Some(json!({"network": {"name": "bn"}})),
    )
    .await;
    let bnet = bnet.json["network"]["id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let r = call(
            &c.app,
            &c.b,
            "POST",
            "/network/v2.0/ports",
            "3.0",
            Some(json!({"port": {"network_id": bnet}})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    }

    let whole = |token: String, query: &'static str| {
        let c = &c;
        async move {
            let uri = format!("/network/v2.0/ports?sort_key=id&sort_key=name&{query}");
            page(c, &token, &uri, "ports").await.0
        }
    };
    for (token, who) in [(&c.admin, "admin"), (&c.a, "A"), (&c.b, "B")] {
        for (query, limit) in [
            ("", 7),
            ("name=rare", 2),
            ("tags=blue", 1),
            ("name=none", 5),
            ("", 1000),
        ] {
            let expected = whole(token.clone(), query).await;
            let first = format!("/network/v2.0/ports?limit={limit}&{query}");
            let got = follow(&c, token, &first, "ports", limit, below("/network/v2.0/ports")).await;
            let got: Vec<String> = got.into_iter().collect();
            no_duplicates(&got);
            assert_eq!(got, expected, "{who} {first}");
        }
    }
    let all_a = whole(c.a.clone(), "").await;
    assert_eq!(all_a.len(), 230, "project A's ports");
    assert_eq!(whole(c.a.clone(), "name=rare").await.len(), 5);
    assert_eq!(whole(c.b.clone(), "").await.len(), 3);
    // A marker continues after it.
    let (after, _) = page(
        &c,
        &c.a,
        &format!("/network/v2.0/ports?limit=3&marker={}", all_a[10]),
        "ports",
    )
    .await;
    assert_eq!(after, all_a[11..14].to_vec());

    let expected = page(&c, &c.b, "/network/v2.0/networks?sort_key=id", "networks").await.0;
    let got = follow(
        &c,
        &c.b,
        "/network/v2.0/networks?limit=1",
        "networks",
        1,
        below("/network/v2.0/networks"),
    )
    .await;
    assert_eq!(got, expected);
    assert!(
        expected.contains(&bnet) && !expected.contains(&net),
        "B sees its network and not A's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pages_follow_the_newest_first_order_of_the_whole_listing() {
    let c = Cloud::new().await;
    for i in 0..130 {
        let name = if i % 40 == 3 { "rare" } else { "common" };
        let vis = if i % 3 == 0 { "public" } else { "private" };
        let token = if i % 2 == 0 { &c.a } else { &c.admin };
        let vis = if token == &c.admin { vis } else { "private" };
        let r = call(
            &c.app,
            token,
            "POST",
            "/image/v2/images",
            "3.0",
            Some(json!({"name": name, "visibility": vis})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    }
    let images = |v: Value| -> Vec<String> {
        v["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    for (token, who) in [(&c.admin, "admin"), (&c.a, "A"), (&c.b, "B")] {
        for (query, limit) in [("", 9), ("name=rare", 1), ("visibility=public", 4), ("name=none", 3)] {
            let whole = format!("/image/v2/images?sort_key=created_at&sort_dir=desc&limit=1000&{query}");
            let r = call(&c.app, token, "GET", &whole, "3.0", None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.json);
            let expected = images(r.json);
            let first = format!("/image/v2/images?limit={limit}&{query}");
            let got = follow(&c, token, &first, "images", limit, |n: &str| format!("/image{n}")).await;
            no_duplicates(&got);
            assert_eq!(got, expected, "{who} {first}");
        }
    }
    // B sees the public ones only; A its own and the public ones.
    let r = call(&c.app, &c.b, "GET", "/image/v2/images?limit=1000", "3.0", None).await;
    assert_eq!(images(r.json).len(), 22);
    let r = call(&c.app, &c.a, "GET", "/image/v2/images?limit=1000", "3.0", None).await;
    let mine = images(r.json);
    assert_eq!(mine.len(), 65 + 22);
    // A marker must be an image the caller sees.
    let r = call(
        &c.app,
        &c.b,
        "GET",
        &format!("/image/v2/images?marker={}", mine[0]),
        "3.0",
        None,
    )
    .await;
    let a_own = call(
        &c.app,
        &c.a,
        "GET",
        &format!("/image/v2/images/{}", mine[0]),
        "3.0",
        None,
    )
    .await;
    if a_own.json["visibility"] == "private" {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    }
    let r = call(
        &c.app,
        &c.a,
        "GET",
        "/image/v2/images?marker=00000000-0000-0000-0000-000000000000",
        "3.0",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_pages_follow_the_newest_first_order_with_the_same_views() {
    let c = Cloud::new().await;
    for p in [&c.project_a, &c.project_b] {
        let r = c
            .req(
                &c.admin,
                "PUT",
                &format!("/os-quota-sets/{p}"),
                Some(json!({"quota_set": {"volumes": -1, "gigabytes": -1}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    }
    let mut attached = None;
    for i in 0..120 {
        let name = if i % 40 == 5 { "rare" } else { "common" };
        let id = c.volume(&c.a, json!({"name": name})).await;
        if i == 60 {
            attached = Some(id);
        }
    }
    for _ in 0..4 {
        c.volume(&c.b, json!({})).await;
    }
    // One of them attached to a server (its view names the server and its host).
    let attached = attached.unwrap();
    let (_, a_caller) = crate::common::login(&c.app, "ua", "secretpw1", Some("pa"))
        .await
        .unwrap();
    let image = crate::common::raw_image(&c.app, &a_caller, "img").await;
    let s = call(
        &c.app,
        &c.a,
        "POST",
        "/compute/v2.1/servers",
        "3.0",
        Some(json!({"server": {"name": "s", "imageRef": image.id, "flavorRef": "42", "networks": "none"}})),
    )
    .await;
    assert_eq!(s.status, StatusCode::ACCEPTED, "{}", s.json);
    let server = s.json["server"]["id"].as_str().unwrap().to_string();
    ciel_controller::db::sql::query("UPDATE servers SET vm_state = 'active', task_state = NULL WHERE id = ?")
        .bind(&server)
        .execute(&c.app.db)
        .await
        .unwrap();
    let uri = format!("/compute/v2.1/servers/{server}/os-volume_attachments");
    let r = call(
        &c.app,
        &c.a,
        "POST",
        &uri,
        "3.0",
        Some(json!({"volumeAttachment": {"volumeId": attached}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    // As the host's report would mark it.
    ciel_controller::db::sql::query("UPDATE volume_attachments SET status = 'attached' WHERE volume_id = ?")
        .bind(&attached)
        .execute(&c.app.db)
        .await
        .unwrap();
    let r = call(
        &c.app,
        &c.admin,
        "GET",
        &format!("/volume/v3/volumes/{attached}"),
        "3.0",
        None,
    )
    .await;
    let shown = r.json["volume"].clone();
    let vol = |path: &str| format!("/volume/v3{path}");
    for (token, who, all) in [(&c.admin, "admin", "&all_tenants=1"), (&c.a, "A", ""), (&c.b, "B", "")] {
        for (query, limit) in [("", 7), ("name=rare", 1), ("name=none", 2)] {
            for list in ["volumes", "volumes/detail"] {
                let whole = vol(&format!("/{list}?sort=created_at:desc,id:desc{all}&{query}"));
                let r = call(&c.app, token, "GET", &whole, "3.0", None).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.json);
                let expected: Vec<Value> = r.json["volumes"].as_array().unwrap().clone();
                let first = vol(&format!("/{list}?limit={limit}{all}&{query}"));
                let mut got: Vec<Value> = vec![];
                let mut uri = first.clone();
                for _ in 0..200 {
                    let r = call(&c.app, token, "GET", &uri, "3.0", None).await;
                    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.json);
                    let items = r.json["volumes"].as_array().unwrap();
                    assert!(items.len() <= limit);
                    got.extend(items.iter().cloned());
                    match r.json["volumes_links"][0]["href"].as_str() {
                        Some(n) => uri = below("/volume/v3")(n),
                        None => break,
                    }
                }
                // The same volumes in the same order, and the same views of them (the detail
                // view's related rows read for the page at once).
                assert_eq!(got, expected, "{who} {first}");
            }
        }
    }
    // The page's view of the attached volume is the volume's own view.
    let r = call(
        &c.app,
        &c.admin,
        "GET",
        &vol("/volumes/detail?limit=1000&all_tenants=1"),
        "3.0",
        None,
    )
    .await;
    let listed = r.json["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == json!(attached))
        .unwrap()
        .clone();
    assert_eq!(listed, shown);
    assert_eq!(listed["attachments"][0]["server_id"], json!(server), "{listed}");
    let r = call(&c.app, &c.a, "GET", &vol("/volumes?limit=1000"), "3.0", None).await;
    assert_eq!(r.json["volumes"].as_array().unwrap().len(), 120);
    let r = call(&c.app, &c.a, "GET", &vol("/volumes?name=rare&limit=1000"), "3.0", None).await;
    assert_eq!(r.json["volumes"].as_array().unwrap().len(), 3);
    // Another project's volume is no marker.
    let b_vol = call(&c.app, &c.b, "GET", &vol("/volumes?limit=1"), "3.0", None).await;
    let b_vol = b_vol.json["volumes"][0]["id"].as_str().unwrap().to_string();
    let r = call(
        &c.app,
        &c.a,
        "GET",
        &vol(&format!("/volumes?limit=5&marker={b_vol}")),
        "3.0",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.json);
}
