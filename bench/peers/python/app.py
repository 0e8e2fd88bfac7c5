"""Call Interactive responder in Flask (served by gunicorn): what an integrator would write
instead of the panel's listener. Same route and token check, the same five rules, the same XML.

    CTI_BENCH_TOKEN=... gunicorn -w 2 -k gthread --threads 4 -b 127.0.0.1:PORT app:app
"""
import datetime
import os
import re

from flask import Flask, Response, abort, request

TOKEN = os.environ.get("CTI_BENCH_TOKEN", "token")

DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
EMPTY = DECL + "<Response/>"
HANGUP = DECL + "<Response>\n    <Hangup/>\n</Response>"
VIP = DECL + '<Response>\n    <SimpleTransfer final="no" timeout="20">101,102</SimpleTransfer>\n</Response>'
ENGLISH = DECL + '<Response>\n    <Jump context="3" option="en"/>\n</Response>'
CLOSED = DECL + "<Response>\n    <PlaySound>closed.wav</PlaySound>\n    <Hangup/>\n</Response>"
SALES = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n    <SetVar name=\"route\">sales</SetVar>\n    <PlaySound where=\"background\">sales-greeting.wav</PlaySound>\n    <SimpleTransfer final=\"no\" timeout=\"25\">201,202,203</SimpleTransfer>\n</Response>"

VIP_NUMBERS = {"749512345%02d" % i for i in range(20)}
OPEN_DAYS = {0, 1, 2, 3, 4, 5, 6}
_STRIP = re.compile(r"[ \-().]")

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 64 * 1024


def number(s):
    s = _STRIP.sub("", s or "")
    return s[1:] if s.startswith("+") else s


def text(s):
    return (s or "").strip().lower()


def variable(params, name):
    for k, v in params.items():
        if k.lower() == name:
            return v
    return ""


def reply(params):
    caller = number(params.get("CallerIDNum"))
    if caller.startswith("8800"):
        return HANGUP
    if caller in VIP_NUMBERS:
        return VIP
    if text(variable(params, "lang")) == "en":
        return ENGLISH
    if datetime.date.today().weekday() in OPEN_DAYS and caller.startswith("7495"):
        return CLOSED
    if number(params.get("CalledNumber")) == "332" and text(params.get("CallerIDName")) != "":
        return SALES
    return EMPTY


@app.route("/hooks/<token>/ivr", methods=["GET", "POST"])
def ivr(token):
    if token != TOKEN:
        abort(404)
    params = request.form if request.method == "POST" else request.args
    if not params.get("CallID") and not params.get("CallAPIID"):
        return Response("CallID is missing", status=400, mimetype="text/plain")
    return Response(reply(params), mimetype="application/xml")
