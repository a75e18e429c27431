"""The dashboard at /ui in a real headless Chromium, driven with selenium (DashboardBrowserTests runs
it against its own taskd and demo worker; ./dev test installs chromium, chromium-driver and selenium).

Environment: TASKD_URL, OPERATOR_KEY/OPERATOR_SECRET, VIEWER_KEY/VIEWER_SECRET, SCREENSHOT_DIR.
Prints one line per check and exits 0 when all passed; screenshots go to SCREENSHOT_DIR/ui-*.png.
"""
import base64
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["TASKD_URL"]
OPERATOR = (os.environ["OPERATOR_KEY"], os.environ["OPERATOR_SECRET"])
VIEWER = (os.environ["VIEWER_KEY"], os.environ["VIEWER_SECRET"])
SHOTS = os.environ.get("SCREENSHOT_DIR", ".")


def api(method, path, body=None, credential=OPERATOR, headers=None):
    """One call with Basic credentials (or none); returns (status, JSON or None)."""
    request = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode())
    if credential:
        token = base64.b64encode(f"{credential[0]}:{credential[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read()
            return response.status, json.loads(data) if data else None
    except urllib.error.HTTPError as error:
        data = error.read()
        return error.code, json.loads(data) if data else None


def submit(command_type, ops, object_name):
    status, task = api("POST", "/v1/tasks", {"commandType": command_type, "ops": ops, "objectName": object_name,
                                             "description": f"dashboard test: {command_type}"})
    assert status == 202, (status, task)
    return task["taskId"]


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok - {what}", flush=True)


def shot(driver, name):
    path = os.path.join(SHOTS, f"ui-{name}.png")
    driver.save_screenshot(path)
    print(f"screenshot {path}", flush=True)


def wait(driver, predicate, what, timeout=20):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: predicate(d))
    except Exception as error:
        shot(driver, "failure")
        raise AssertionError(f"timed out: {what} ({type(error).__name__})")


def row_status(driver, task_id):
    """Read in one script: a row's cells are replaced on every event, so a found cell goes stale."""
    return driver.execute_script(
        "const r = document.querySelector(`tr[data-task-id='${arguments[0]}']`); return r ? r.dataset.status : null;", task_id)


def row_progress(driver, task_id):
    value = driver.execute_script(
        "const p = document.querySelector(`tr[data-task-id='${arguments[0]}'] progress`); return p ? p.value : null;", task_id)
    return None if value is None else float(value)


def click(driver, selector, timeout=10):
    """Clicks the element now under `selector` (found and clicked in one go, retried while it is not
    there yet or was replaced meanwhile); the last error says why when it never worked."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            driver.find_element(By.CSS_SELECTOR, selector).click()
            return
        except Exception as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"could not click {selector} in {timeout} s: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
            time.sleep(0.1)


def log_in(driver, credential):
    driver.get(BASE + "/ui")
    wait(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), "the login form shows")
    driver.find_element(By.ID, "login-key").send_keys(credential[0])
    driver.find_element(By.ID, "login-secret").send_keys(credential[1])
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-stream") == "live", "the event stream is live")


def fetch_in_page(driver, method, path, csrf):
    """A fetch made by the page itself (the cookie goes with it), with or without the CSRF token."""
    return driver.execute_async_script("""
        const [method, path, csrf, done] = arguments;
        const headers = csrf ? {'X-CSRF-Token': window.__csrf} : {};
        fetch(path, {method, headers, credentials: 'same-origin'})
          .then(async r => done({status: r.status, body: await r.text()}), e => done({status: 0, body: String(e)}));
    """, method, path, csrf)


def watch_with_cookie(cookie, opened, ended):
    """GET /v1/events with only the browser's session cookie, until the stream ends."""
    request = urllib.request.Request(BASE + "/v1/events", headers={"Cookie": f"taskd_session={cookie}"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            opened["status"] = response.status
            while response.readline():
                pass
    except Exception as error:  # a timeout here means the stream did not end
        opened["error"] = repr(error)
    ended.set()


def main():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                     "--disable-gpu", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(10)
    try:
        run(driver)
    finally:
        driver.quit()


def run(driver):
    # Without a session: the form, and no data.
    driver.get(BASE + "/ui")
    wait(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), "the login form shows")
    check(not driver.find_element(By.ID, "dashboard").is_displayed()
          and not driver.find_elements(By.CSS_SELECTOR, "#task-rows tr"), "/ui without a session shows the login form and no tasks")
    shot(driver, "login")

    # A wrong secret stays on the form with a message.
    driver.find_element(By.ID, "login-key").send_keys(OPERATOR[0])
    driver.find_element(By.ID, "login-secret").send_keys("wrong-secret-123")
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait(driver, lambda d: "wrong" in d.find_element(By.ID, "login-error").text, "a wrong secret is reported")
    check(not driver.find_element(By.ID, "dashboard").is_displayed(), "a wrong secret opens nothing")

    log_in(driver, OPERATOR)
    check(driver.find_element(By.ID, "who-role").text == "operator", "logged in as operator")
    driver.execute_script("window.__noReload = true; window.__csrf = null;")

    # A task submitted here appears without a reload, and its bar reaches 100.
    reshard = submit("reshard", ["1", "2"], "bdb:ui-1")
    wait(driver, lambda d: row_status(d, reshard) is not None, "the submitted task appears")
    check(True, "a task submitted from the test appears in the table without a reload")
    wait(driver, lambda d: (row_progress(d, reshard) or 0) > 0 and row_status(d, reshard) == "running", "the task runs", timeout=20)
    shot(driver, "running")
    wait(driver, lambda d: row_status(d, reshard) == "completed", "the task completes", timeout=30)
    check(row_progress(driver, reshard) == 100, "its progress bar reaches 100")
    check(driver.execute_script("return window.__noReload === true"), "the page never reloaded")

    # Its detail: per-op bars and the event history from the task's own stream.
    click(driver, f'tr[data-task-id="{reshard}"] td.command button')
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-ops li[data-op]")) == 2, "the detail shows two ops")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-history li")) >= 4, "the detail shows the event history")
    values = driver.execute_script("return [...document.querySelectorAll('#detail-ops li[data-op] progress')].map(p => p.value)")
    check(values == [100.0, 100.0], f"each op's bar is at 100 ({values})")
    history = driver.find_element(By.ID, "detail-history").text
    check("created" in history and "completed" in history, "the history runs from created to completed")
    shot(driver, "detail")
    driver.find_element(By.ID, "detail-close").click()

    # Cancel a running task from the page, behind the confirmation.
    backup = submit("backup", [str(i) for i in range(1, 9)], "bdb:ui-2")
    wait(driver, lambda d: row_status(d, backup) == "running", "the backup runs")
    # Its progress events update the row in place: the Cancel button under a pointer stays the same
    # element (replaced each time, a click spanning an update was lost).
    cancel_button = driver.find_element(By.CSS_SELECTOR, f'tr[data-task-id="{backup}"] button[data-action="cancel"]')
    progress = row_progress(driver, backup)
    wait(driver, lambda d: row_progress(d, backup) != progress, "the backup reports progress")
    try:
        cancel_button.is_displayed()
        kept = True
    except StaleElementReferenceException:
        kept = False
    check(kept, "the Cancel button stays the same element while its row's progress changes")
    click(driver, f'tr[data-task-id="{backup}"] button[data-action="cancel"]')
    wait(driver, lambda d: d.find_element(By.ID, "confirm-cancel").is_displayed(), "the confirmation opens")
    shot(driver, "confirm-cancel")
    driver.find_element(By.ID, "confirm-yes").click()
    wait(driver, lambda d: row_status(d, backup) == "cancelled", "the backup ends cancelled", timeout=20)
    status, task = api("GET", f"/v1/tasks/{backup}")
    check(status == 200 and task["lifecycleStatus"] == "cancelled", "a running task cancelled from the page ends cancelled")
    check(not driver.find_elements(By.CSS_SELECTOR, f'tr[data-task-id="{backup}"] button[data-action="cancel"]'),
          "a cancelled task offers no cancel button")

    # A state-changing call with the cookie but without the CSRF token is refused.
    without = fetch_in_page(driver, "POST", f"/v1/tasks/{backup}/dismiss", csrf=False)
    check(without["status"] == 403 and "csrf_token_required" in without["body"], f"no CSRF token: {without['status']}")
    driver.execute_script("window.__csrf = arguments[0]",
                          driver.execute_async_script("const done = arguments[0]; fetch('/ui/session').then(r => r.json()).then(s => done(s.csrfToken));"))
    with_token = fetch_in_page(driver, "POST", f"/v1/tasks/{backup}/dismiss", csrf=True)
    check(with_token["status"] == 409, f"with the token the call gets through to the task (409: a cancelled task is not failed): {with_token['status']}")
    outside = fetch_in_page(driver, "POST", "/v1/apikeys", csrf=True)
    check(outside["status"] == 401 and "session_not_accepted" in outside["body"], "the cookie is no credential outside the page's routes")

    # A narrow screen.
    driver.set_window_size(420, 900)
    time.sleep(0.3)
    shot(driver, "narrow")
    driver.set_window_size(1280, 800)

    # After logout the event stream stops: the page's, and one opened elsewhere with the same cookie.
    cookie = driver.get_cookie("taskd_session")
    check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", "the session cookie is HttpOnly and SameSite=Strict")
    opened, ended = {}, threading.Event()
    threading.Thread(target=watch_with_cookie, args=(cookie["value"], opened, ended), daemon=True).start()
    deadline = time.time() + 5
    while "status" not in opened and time.time() < deadline:
        time.sleep(0.05)
    check(opened.get("status") == 200, "a stream opened with the cookie runs")
    driver.find_element(By.ID, "logout").click()
    wait(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), "logout shows the login form")
    check(driver.find_element(By.TAG_NAME, "body").get_attribute("data-stream") == "closed", "the page's event stream is closed")
    received = driver.find_element(By.TAG_NAME, "body").get_attribute("data-events-received")
    started = time.time()
    check(ended.wait(8) and "error" not in opened, f"the cookie's other stream ended {time.time() - started:.1f} s after logout")
    submit("reshard", ["1"], "bdb:ui-3")
    time.sleep(1.5)
    check(driver.find_element(By.TAG_NAME, "body").get_attribute("data-events-received") == received
          and not driver.find_elements(By.CSS_SELECTOR, "#task-rows tr"), "no event reaches the page after logout")
    status, _ = api("GET", "/v1/events", credential=None, headers={"Cookie": f"taskd_session={cookie['value']}"})
    check(status == 401, "the logged-out cookie opens no stream")

    # A viewer sees the tasks but no button that would 403.
    log_in(driver, VIEWER)
    wait(driver, lambda d: row_status(d, reshard) == "completed", "the viewer sees the tasks")
    check(driver.find_element(By.ID, "who-role").text == "viewer", "logged in as viewer")
    check(not driver.find_elements(By.CSS_SELECTOR, "button[data-action]"), "a viewer sees no action buttons in the table")
    click(driver, f'tr[data-task-id="{reshard}"] td.command button')
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-history li")) >= 4, "the viewer's detail loads")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-ops li[data-op]")) == 2, "the viewer's detail shows the ops")
    check(not driver.find_elements(By.CSS_SELECTOR, "#detail-actions button"), "a viewer sees no action buttons in the detail")
    shot(driver, "viewer")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print(f"not ok - {error}", flush=True)
        sys.exit(1)
