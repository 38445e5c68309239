mod support;
use support::TestApp;

#[tokio::test]
async fn placeholder() {
    let app = TestApp::fresh().await;
    let b = app.signup("Probe").await;
    println!("{b:?}");
    app.stop().await;
}
