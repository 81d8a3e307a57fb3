from tests.accounts.conftest import csrf_token


def test_sign_in_and_out(client, admin, login):
    response = login(admin, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Signed in as admin@north.example" in page
    assert "Acting for <strong>North College</strong>" in page
    response = client.post("/logout", data={"csrf_token": csrf_token(page)},
                           follow_redirects=True)
    assert "You have signed out" in response.get_data(as_text=True)


def test_wrong_password(client, admin, login):
    response = login(admin, password="wrong password here")
    assert response.status_code == 422
    assert "The email address or password is not right." in response.get_data(as_text=True)
