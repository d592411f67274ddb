"""console_browser.py -- the console driven in headless Chromium (Selenium
and Debian's chromedriver), as a marketer would use it, against a server
started by test_console.sh.

    console_browser.py URL SHOTS_DIR FACTS_JSON

FACTS_JSON names the keys (admin, analyst, service), the tailor command
line for checks against the CLI (`tailor` and its --data argument), and
the console's translation tables. Every check prints "ok ..." or
"FAIL ..."; the exit code is the number of failures (capped at 100).
Screenshots of every page in both languages go to SHOTS_DIR."""
import json
import os
import re
import subprocess
import sys
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

URL, SHOTS, FACTS = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
os.makedirs(SHOTS, exist_ok=True)
failures = 0


def ok(desc, cond, detail=""):
    global failures
    if cond:
        print(f"ok {desc}")
    else:
        failures += 1
        print(f"FAIL {desc} {detail}")
    sys.stdout.flush()


def tailor(*args):
    r = subprocess.run([FACTS["tailor"], "--data", FACTS["data"], *args], capture_output=True, text=True,
                       env={**os.environ, "TAILOR_KEY": FACTS["key"]})
    if r.returncode:
        raise RuntimeError(f"tailor {' '.join(args)}: {r.stderr}")
    return r.stdout


def api(method, path, key, body=None):
    req = urllib.request.Request(URL + path, method=method, headers={"Authorization": f"Bearer {key}"},
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def browser(lang):
    o = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--lang={lang}",
              "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--window-size=1280,800"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": lang})
    o.binary_location = "/usr/bin/chromium"
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


d = None


def wait(cond, secs=20):
    return WebDriverWait(d, secs).until(cond)


def css(sel):
    return d.find_element(By.CSS_SELECTOR, sel)


def loaded(page=None):
    """The page's render finished (for `page`, when named, not the one before it):
    main names the address it shows, no loading line, the heading drawn, the
    charts painted."""
    def drawn(_):
        shown = d.find_element(By.ID, "main").get_attribute("data-shown")
        return ((shown == f"#/{page}" if page is not None else shown is not None) and
                not d.find_elements(By.CSS_SELECTOR, "main .loading") and d.find_elements(By.CSS_SELECTOR, "main h1"))
    wait(drawn, 60)
    time.sleep(0.3)


UNLABELLED = """
const bad = [];
for (const el of document.querySelectorAll('input,select,textarea,button,[role=img]')) {
  if (!el.getClientRects().length || el.type === 'hidden') continue;
  const named = el.getAttribute('aria-label') || (el.id && document.querySelector(`label[for="${el.id}"]`)) ||
    el.closest('label') || (el.tagName === 'BUTTON' && el.textContent.trim());
  if (!named) bad.push(el.outerHTML.slice(0, 80));
}
return bad;
"""


def errors_in_console(where):
    bad = [e for e in d.get_log("browser") if e["level"] in ("SEVERE",)]
    ok(f"no console error: {where}", not bad, bad)
    unlabelled = d.execute_script(UNLABELLED)
    ok(f"every control has a name: {where}", not unlabelled, unlabelled[:5])


def shot(name):
    """The whole page, as tall as it is (up to 4,000 px), at the window's width."""
    w, h = d.get_window_size()["width"], d.get_window_size()["height"]
    tall = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(w, max(h, min(tall + 140, 4000)))
    time.sleep(0.3)  # the charts follow the new size
    d.save_screenshot(os.path.join(SHOTS, f"{name}.png"))
    d.set_window_size(w, h)


def go(page):
    d.get(f"{URL}/#/{page}")
    loaded(page)


def sign_in(key):
    d.get(URL + "/")
    if d.find_elements(By.ID, "signout") and css("#signout").is_displayed():
        css("#signout").click()
    field = wait(EC.visibility_of_element_located((By.ID, "key")))
    field.clear()
    field.send_keys(key)
    css("#signin").click()
    wait(lambda _: css("#signout").is_displayed())
    loaded()


def nav_pages():
    return [a.get_attribute("href").split("#/")[1] for a in d.find_elements(By.CSS_SELECTOR, "#nav a")]


def num(text):
    """A number as the English page shows it (1,234.5; 12.34%)."""
    t = text.replace(",", "").replace("%", "").replace("CN¥", "").strip()
    return float(t)


# ---- 1. an admin, in English ---------------------------------------------------------
d = browser("en-US")
try:
    d.get(URL + "/")
    wait(EC.visibility_of_element_located((By.ID, "key")))
    ok("the sign-in page asks for a key", css("label[for=key]").text == "API key")
    shot("signin-en")
    # the keyboard reaches the skip link first
    first = d.execute_script("""
      const f = [...document.querySelectorAll('a[href],button,input,select,textarea,[tabindex]')]
        .filter((e) => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length);
      return f[0] && f[0].className;""")
    ok("the first tab stop is the skip link", first == "skip", first)
    sign_in(FACTS["admin"])
    ok("an admin sees every page", nav_pages() == ["overview", "users", "segments", "campaigns", "reports", "scheduler",
                                                   "models", "data"], nav_pages())
    ok("the overview opens first", d.current_url.endswith("#/overview"))
    d.execute_script("document.querySelector('.skip').focus()")
    ok("the skip link shows when focused", d.execute_script("return document.querySelector('.skip').getBoundingClientRect().left >= 0"))
    d.switch_to.active_element.send_keys(Keys.ENTER)
    ok("... and takes the focus to the page", d.switch_to.active_element.get_attribute("id") == "main")
    ok("the overview draws its charts", len(d.find_elements(By.CSS_SELECTOR, "main .chart canvas")) >= 2)
    ev = FACTS["overview_events"]
    shown = num(d.find_elements(By.CSS_SELECTOR, ".stat .stat-v")[0].text)
    ok("the overview's events equal the API's sum over the days", shown == ev, (shown, ev))
    errors_in_console("overview")
    shot("overview-en")

    # ---- a user, found by id
    go("users")
    box = css("#user-id")
    box.send_keys(FACTS["user"])
    box.send_keys(Keys.ENTER)
    wait(lambda _: d.find_elements(By.CSS_SELECTOR, "h2.who-title"))
    loaded()
    text = css("main").text
    ok("the user's page names the person", f"Person {FACTS['user']}" in text)
    phone = [dd.text for dt, dd in zip(d.find_elements(By.CSS_SELECTOR, "dl.facts dt"), d.find_elements(By.CSS_SELECTOR, "dl.facts dd")) if dt.text == "Phone"]
    ok("the phone is masked", phone and "*" in phone[0] and not re.search(r"\d{7}", phone[0]), phone)
    recs = d.find_elements(By.XPATH, "//section[h2='Recommendations']//tbody/tr")
    ok("recommendations with reasons", len(recs) == 10 and all(r.find_elements(By.TAG_NAME, "td")[3].text for r in recs), len(recs))
    ok("a timeline of events", len(d.find_elements(By.CSS_SELECTOR, "ol.timeline li")) > 0)
    idn = api("GET", f"/v1/users/{FACTS['user']}/identity", FACTS["analyst"])
    rows = d.find_elements(By.XPATH, "//section[h2='Identities']//tbody/tr")
    ok("the person's identifiers and the links that joined them",
       len(rows) == len(idn["identifiers"]) + len(idn["links"]) and "in force" in css("main").text, (len(rows), idn))
    ok("an admin may ask for subject access and erasure", "Subject access" in text and "Erase" in text)
    errors_in_console("users")
    shot("users-en")

    # ---- a segment built, its count live
    go("segments")
    expr = css("#seg-expr")
    for ch in FACTS["segment"]:
        expr.send_keys(ch)  # typed, key by key: the count follows
    wait(lambda _: css("#seg-count").get_attribute("data-size") is not None and css("#seg-size").text)
    live = int(num(css("#seg-size").text))
    css("#seg-name").send_keys("console_big")
    css("#seg-save").click()
    wait(lambda _: "console_big" in css("main").text and "saved" in css("main").text)
    cli = tailor("segment", "size", "console_big").strip()
    cli_n = int(re.search(r"\d+", cli.replace(",", "")).group(0))
    ok("the live count equals `tailor segment size`", live == cli_n, (live, cli))
    wait(lambda _: d.find_elements(By.ID, "h-seg"))
    Select(css("#h-seg")).select_by_value("console_big")
    css("#h-go").click()
    wait(lambda _: d.find_elements(By.ID, "h-sizes"), 60)
    weekly = [int(num(x)) for x in css("#h-sizes").text.split("→")]
    ok("its size week by week ends at the size now", len(weekly) == 6 and weekly[-1] == cli_n, weekly)
    # a mistake is shown where it is, with no failed request
    expr.send_keys(" and and")
    wait(lambda _: "wrong at character" in css("#seg-count").text)
    ok("a bad condition says where", "^" in css("pre.caret").text)
    errors_in_console("segments")
    shot("segments-en")

    # ---- a campaign created with the form, previewed, run, reported
    go("campaigns/new")
    css("#c-id").send_keys("console-push")
    css("#c-name").send_keys("big spenders, push")
    css("#c-audience").send_keys(FACTS["segment"])
    css("#c-holdout").clear()
    css("#c-holdout").send_keys("20")
    wait(lambda _: "The definition is right" in css("#c-check").text)
    definition = json.loads(css("#c-json").get_attribute("value"))
    ok("the form writes the definition", definition["id"] == "console-push" and definition["holdout"] == 20 and
       definition["channels"] == ["push"], definition)
    shot("campaign-new-en")
    css("#c-json").send_keys(Keys.CONTROL, Keys.END)
    css("#c-json").send_keys("x")  # text after the definition's end
    wait(lambda _: "not right" in css("#c-check").text)
    ok("a broken definition is refused as the command line refuses it", "not right" in css("#c-check").text)
    css("#c-json").send_keys(Keys.BACKSPACE)
    wait(lambda _: "The definition is right" in css("#c-check").text)
    css("#c-save").click()
    wait(lambda _: d.current_url.endswith("#/campaigns/console-push"))
    loaded()
    css("#c-preview").click()
    wait(lambda _: d.find_elements(By.ID, "run-result"))
    ok("a preview sends nothing", "nothing was sent" in css("#run-result").text)
    audience = set(api("GET", "/v1/segments/console_big/members", FACTS["analyst"])["members"])
    shown = [tr.find_elements(By.TAG_NAME, "td")[0].text
             for tr in d.find_elements(By.XPATH, "//div[@id='run-result']//h4/following-sibling::div//tbody/tr")]
    ok("the preview shows who would receive what, all of the audience", shown and set(shown) <= audience, shown)
    css("#c-run").click()
    wait(EC.alert_is_present())
    d.switch_to.alert.accept()
    wait(lambda _: d.find_elements(By.ID, "run-result") and "Run at" in css("#run-result").text)
    shot("campaign-en")
    # a dozen of the audience buy an hour later: the report has conversions to show
    members = api("GET", "/v1/segments/console_big/members", FACTS["analyst"])["members"][:12]
    api("POST", "/v1/events", FACTS["admin"], [
        {"event_id": f"console-buy-{u}", "user": u, "item": "i00010", "type": "purchase",
         "ts": "2025-12-01T01:00:00Z", "amount": 120} for u in members])
    css("#c-report").click()
    wait(lambda _: "Report: console-push" in css("main").text)
    loaded()
    rep = json.loads(tailor("report", "campaign", "console-push", "--json"))
    rows = {}
    for tr in d.find_elements(By.XPATH, "//section[h2='Arms against the control']//tbody/tr"):
        cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        rows[cells[0]] = cells
    for g in rep["groups"]:
        c = rows.get({"holdout": "held out", "global_control": "global control group"}.get(g["group"], g["group"]))
        ok(f"report {g['group']}: users, converted, rate as the CLI's",
           c is not None and num(c[1]) == g["users"] and num(c[2]) == g["converted"] and
           c[3].startswith(f"{g['conversion_rate']['value'] * 100:.2f}%"), (c, g))
    ok("the report has every group", len(rows) == len(rep["groups"]) and len(rows) >= 2, rows.keys())
    ok("... with conversions in it", sum(g["converted"] for g in rep["groups"]) > 0, rep["groups"])
    sent = [td.text for td in d.find_elements(By.XPATH, "//section[h2='Decisions']//tbody/tr/td")]
    dec = {sent[i]: num(sent[i + 1]) for i in range(0, len(sent), 2)}
    ok("the decisions equal the CLI's", dec.get("sent") == rep["decisions"]["sent"] and dec.get("held out") == rep["decisions"]["holdout"], (dec, rep["decisions"]))
    ok("a CSV export", css("#report-csv").get_attribute("download") == "console-push-report.csv")
    errors_in_console("report")
    shot("report-en")
    go("reports/spring")
    up = api("GET", "/v1/campaigns/spring/report", FACTS["analyst"])["uplift"]
    ok("the uplift model's Qini coefficient as the API gives it",
       css("#r-qini").text.startswith(f"{up['test_qini']:.3f} on {up['test_units']:,} held-out units"), (css("#r-qini").text, up))
    go("scheduler")
    ok("the scheduler lists the campaigns", "console-push" in css("main").text)
    ok("a journey shows its steps", len(d.find_elements(By.CSS_SELECTOR, ".journey")) == 1)
    errors_in_console("scheduler")
    shot("scheduler-en")
    go("reports")
    shot("reports-en")

    # ---- the data page: imports, the quarantine masked, drift
    go("data")
    wait(lambda _: d.find_elements(By.CSS_SELECTOR, "#q-records tbody tr td code"))
    text = css("main").text
    ok("the imports are listed", "events.csv" in text and "users.csv" in text)
    previews = [c.text for c in d.find_elements(By.CSS_SELECTOR, "#q-records code.preview")]
    ok("quarantined records are shown", len(previews) > 0, len(previews))
    ok("... with personal data masked", previews and not any(re.search(r"1[3-9]\d{9}", p) for p in previews), previews[:3])
    ok("feature drift is measured", len(d.find_elements(By.XPATH, "//section[h2='Feature drift (PSI)']//tbody/tr")) > 0)
    errors_in_console("data")
    shot("data-en")

    # ---- the models page
    go("models")
    models = api("GET", "/v1/models", FACTS["analyst"])
    auc = models["scorecard"]["auc"]
    ok("the scorecard's AUC as the API gives it", css("#m-auc").text == f"{auc:.3f}", (css("#m-auc").text, auc))
    auc, held = models["challenger"]["auc"], models["challenger"]["held_out"]["challenger_auc"]
    ok("the challenger beside it, its AUCs on the training rows and held out as the API gives them",
       css("#m-challenger-auc").text == f"{auc:.3f}" and css("#m-held-auc").text == f"{held:.3f}" and
       "AUC on 3 folds held out" in css("main").text and "the scorecard makes the decisions" in css("main").text,
       (css("#m-challenger-auc").text, auc, css("#m-held-auc").text, held))
    Select(css("#e-model")).select_by_value("ials")
    Select(css("#e-by")).select_by_value("age")
    css("#e-run").click()
    wait(lambda _: d.find_elements(By.ID, "m-ndcg"), 120)
    cli = json.loads(tailor("eval", "--model", "ials", "--by", "age", "--split", "time", "--test-days", "7", "--json"))
    ok("the evaluation's NDCG equals `tailor eval`'s", css("#m-ndcg").text == f"{cli['ndcg']:.4f}", (css("#m-ndcg").text, cli["ndcg"]))
    ok("... with every age group and the gap between them",
       all(g in css("#m-eval").text for g in cli["groups"]) and "gap between the best and the worst" in css("#m-eval").text)
    shot("models-en")
    css("#m-retrain").click()
    wait(lambda _: "trained again" in css("main").text, 120)
    css("#m-reload").click()
    wait(lambda _: "loaded again" in css("main").text)
    errors_in_console("models")
    go("campaigns")
    shot("campaigns-en")
    errors_in_console("lists")

    # ---- a phone-sized window: the menu folds, tables scroll
    d.set_window_size(390, 844)
    go("overview")
    ok("on a phone the navigation folds behind a menu", not css("#nav").is_displayed() and css(".menu").is_displayed())
    css(".menu").click()
    ok("... and opens from it", css("#nav").is_displayed())
    width = d.execute_script("return document.documentElement.scrollWidth")
    ok("no page wider than the phone", width <= 390, width)
    shot("overview-phone-en")
    d.set_window_size(1280, 800)

    # ---- a service key: the users page only
    sign_in(FACTS["service"])
    ok("a service key sees the users page only", nav_pages() == ["users"], nav_pages())
    go("segments")
    ok("... and cannot open an analyst page", "may not open this page" in css("main").text)
    go("campaigns")
    ok("... nor campaigns", "may not open this page" in css("main").text)
    errors_in_console("service key")

    # ---- an analyst: no erasure, no run
    sign_in(FACTS["analyst"])
    go(f"users/{FACTS['user']}")
    ok("an analyst is offered no erasure", "Erase" not in css("main").text)
    go("campaigns/console-push")
    ok("an analyst is offered no run", not d.find_elements(By.ID, "c-run"))
    errors_in_console("analyst")
except Exception as e:  # a step that never came: say which, and go on to the Chinese pass
    ok("the English pass ran to its end", False, f"{type(e).__name__} at {d.current_url}: {traceback.format_exc(limit=3)}")
finally:
    d.quit()

# ---- 2. the same console in Chinese, chosen by the browser -------------------------------
en = json.load(open(FACTS["i18n"] + "/en.json"))
zh = json.load(open(FACTS["i18n"] + "/zh-CN.json"))
ok("the two tables have the same keys", set(en) == set(zh), set(en) ^ set(zh))
# an English string of the table (one the Chinese table words differently),
# its {placeholders} matching anything
english = [re.compile("^" + re.sub(r"\\\{\w+\\\}", ".*", re.escape(v)) + "$", re.S)
           for k, v in en.items() if v != zh[k] and re.search("[A-Za-z]{2}", v)]
chinese = set(zh.values())
TEXTS = """
const out = [];
const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = w.nextNode(); n; n = w.nextNode()) {
  const el = n.parentElement;
  // data (ids, names, the server's messages) is marked translate=no: not the console's words
  if (!el || el.closest('script,style,[hidden],[translate=no]') || !el.getClientRects().length) continue;
  const s = n.textContent.trim();
  if (s) out.push(s);
}
for (const el of document.querySelectorAll('[aria-label],[placeholder],[title]'))
  for (const a of ['aria-label', 'placeholder', 'title']) if (el.getAttribute(a)) out.push(el.getAttribute(a).trim());
out.push(document.title);
return out;
"""


def untranslated(where):
    texts = d.execute_script(TEXTS)
    # a text the Chinese table itself has (an acronym such as RFM) is not left over
    left = sorted({s for s in texts if any(p.match(s) for p in english) and s not in chinese})
    keys = sorted({s for s in texts if re.fullmatch(r"[a-z_]+\.[a-z_.]+", s) and s in en})
    ok(f"Chinese: no English string of the table on {where}", not left, left[:10])
    ok(f"Chinese: no key without its words on {where}", not keys, keys[:10])


d = browser("zh-CN")
try:
    d.get(URL + "/")
    wait(EC.visibility_of_element_located((By.ID, "key")))
    ok("the browser's language is chosen", d.execute_script("return document.documentElement.lang") == "zh-CN")
    ok("the sign-in page is in Chinese", css("label[for=key]").text == zh["signin.key"])
    untranslated("sign-in")
    shot("signin-zh")
    sign_in(FACTS["admin"])
    for page, name in [("overview", "overview"), (f"users/{FACTS['user']}", "users"), ("segments", "segments"),
                       ("campaigns", "campaigns"), ("campaigns/new", "campaign-new"), ("campaigns/console-push", "campaign"),
                       ("reports", "reports"), ("reports/console-push", "report"), ("scheduler", "scheduler"),
                       ("models", "models"), ("data", "data")]:
        go(page)
        if name == "campaign-new":
            wait(lambda _: css("#c-check").text)
        if name == "data":
            wait(lambda _: d.find_elements(By.CSS_SELECTOR, "#q-records tbody tr td code"))
        untranslated(name)
        errors_in_console(f"{name} (zh)")
        shot(f"{name}-zh")
    # numbers in the locale's format: the overview's revenue in yuan
    go("overview")
    ok("money in the locale's format", "¥" in css(".stats").text)
    # switched back to English by hand, and kept
    Select(css("#lang")).select_by_value("en")
    wait(lambda _: d.execute_script("return document.documentElement.lang") == "en")
    loaded()
    ok("switched to English by hand", css("h1").text == en["overview.title"])
    d.refresh()
    loaded()
    ok("... and kept", css("h1").text == en["overview.title"])
    errors_in_console("language switch")
except Exception as e:
    ok("the Chinese pass ran to its end", False, f"{type(e).__name__} at {d.current_url}: {traceback.format_exc(limit=3)}")
finally:
    d.quit()

print(f"{failures} browser check(s) failed" if failures else "all browser checks passed")
sys.exit(min(failures, 100))
