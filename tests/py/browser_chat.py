"""Drives a headless Chromium through its DevTools protocol to chat on wss_chat's page.

    python browser_chat.py DEVTOOLS_URL PAGE_URL SCREENSHOT COMPRESSION

DEVTOOLS_URL is the browser's DevTools websocket (ws://127.0.0.1:PORT/devtools/browser/ID),
PAGE_URL the chat page (https://127.0.0.1:PORT/), SCREENSHOT the PNG file to write,
COMPRESSION what the page's WebSocket must have agreed with the server: `compressed`
(permessage-deflate) or `plain` (no extension).

Two tabs, each in its own browser context (no shared cookies or storage, as two people on two
machines), open the page in one room. Each page's WebSocket must show the expected
`extensions`, and its status line must say `(compressed)` exactly when they name
permessage-deflate. In each, the name and then a message are typed into the page's text
field (Input.insertText) and sent with the Enter key (Input.dispatchKeyEvent), as a person
would. Each message must come back into the log of both pages; then the first page is
captured as a PNG, and a long, compressible line (LONG_LINE) typed in it must arrive in the
second page byte for byte.

Prints one line `ok ...` and exits 0 on success; otherwise prints what went wrong (with the
text of both pages) to stderr and exits 1. Every wait is bounded: the whole run by
RUN_TIMEOUT, each step by STEP_TIMEOUT.
"""

import asyncio
import base64
import itertools
import json
import sys

import websockets
from websockets.asyncio.client import connect

RUN_TIMEOUT = 60
STEP_TIMEOUT = 20
ROOM = "browser-test"
# 3 KiB of repeated text (the chat takes lines up to 4096 bytes, the page's field 4000
# characters): compressed to a few dozen bytes when the connection agreed on it.
LONG_LINE = ("the quick brown fox jumps over the lazy dog; " * 70)[:3072]


class Failed(Exception):
    pass


class Cdp:
    """One DevTools connection to the browser; commands to pages go through flat sessions."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.waiting = {}
        self.events = []  # (session, method, params), all of them, in order
        self.event_arrived = asyncio.Event()
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if "id" in msg:
                    fut = self.waiting.pop(msg["id"], None)
                    if fut and not fut.done():
                        fut.set_result(msg)
                else:
                    self.events.append((msg.get("sessionId"), msg["method"], msg.get("params", {})))
                    self.event_arrived.set()
        finally:
            for fut in self.waiting.values():
                if not fut.done():
                    fut.set_exception(Failed("the DevTools connection ended"))

    async def call(self, method, params=None, session=None, timeout=STEP_TIMEOUT):
        msg_id = next(self.ids)
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.waiting[msg_id] = fut
        await self.ws.send(json.dumps(msg))
        try:
            reply = await asyncio.wait_for(fut, timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise Failed("%s: no answer within %d s" % (method, timeout)) from None
        if "error" in reply:
            raise Failed("%s: %s" % (method, reply["error"]))
        return reply["result"]

    async def event(self, session, method, since):
        """The first event `method` of `session` at index `since` or later in self.events."""
        async def find():
            i = since
            while True:
                while i < len(self.events):
                    s, m, params = self.events[i]
                    if s == session and m == method:
                        return params
                    i += 1
                self.event_arrived.clear()
                await self.event_arrived.wait()

        try:
            return await asyncio.wait_for(find(), STEP_TIMEOUT)
        except (asyncio.TimeoutError, TimeoutError):
            raise Failed("no %s within %d s" % (method, STEP_TIMEOUT)) from None


class Tab:
    """A page in its own browser context."""

    def __init__(self, cdp, who):
        self.cdp = cdp
        self.who = who
        self.session = None

    async def open(self):
        context = await self.cdp.call("Target.createBrowserContext")
        target = await self.cdp.call(
            "Target.createTarget",
            {"url": "about:blank", "browserContextId": context["browserContextId"]},
        )
        attached = await self.cdp.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        self.session = attached["sessionId"]
        await self.call("Page.enable")
        await self.call("Runtime.enable")
        # The page behaves as focused even while the other tab is in front.
        await self.call("Emulation.setFocusEmulationEnabled", {"enabled": True})

    async def call(self, method, params=None):
        return await self.cdp.call(method, params, self.session)

    async def navigate(self, url):
        since = len(self.cdp.events)
        nav = await self.call("Page.navigate", {"url": url})
        if nav.get("errorText"):
            raise Failed("%s: navigating to %s: %s" % (self.who, url, nav["errorText"]))
        await self.cdp.event(self.session, "Page.loadEventFired", since)

    async def evaluate(self, expression):
        result = await self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise Failed("%s: %s" % (self.who, text))
        return result["result"].get("value")

    async def wait_for(self, condition, what):
        """Waits (in the page, polling) until the JS expression `condition` is true."""
        ms = (STEP_TIMEOUT - 2) * 1000
        return await self.evaluate(
            """(async () => {
                const until = Date.now() + %d;
                while (Date.now() < until) {
                    if (%s) return true;
                    await new Promise(r => setTimeout(r, 50));
                }
                throw new Error("waited %d ms for " + %s);
            })()"""
            % (ms, condition, ms, json.dumps(what))
        )

    async def wait_for_line(self, line):
        await self.wait_for(
            "[...document.querySelectorAll('#log div')].some(d => d.textContent === %s)"
            % json.dumps(line),
            "the line %r in the page's message list" % line,
        )

    async def type_and_enter(self, text):
        """Types `text` into the page's text field and presses Enter, as a person would."""
        await self.call("Page.bringToFront")
        await self.evaluate("document.getElementById('text').focus()")
        await self.call("Input.insertText", {"text": text})
        typed = await self.evaluate("document.getElementById('text').value")
        if typed != text:
            raise Failed("%s: typed %r, the text field holds %r" % (self.who, text, typed))
        enter = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        await self.call("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", **enter})
        await self.call("Input.dispatchKeyEvent", {"type": "keyUp", **enter})

    async def page_text(self):
        try:
            return await asyncio.wait_for(self.evaluate("document.body.innerText"), 5)
        except Exception as e:  # only for diagnostics
            return "(cannot read the page: %s)" % e


async def check_compression(tab, compression):
    """The page's WebSocket agreed on `compression`, and its status line says so."""
    extensions = await tab.evaluate("ws.extensions")
    status = await tab.evaluate("document.getElementById('status').textContent")
    deflate = extensions.startswith("permessage-deflate")
    if deflate != (compression == "compressed"):
        raise Failed("%s: expected %s, the WebSocket's extensions are %r"
                     % (tab.who, compression, extensions))
    if ("(compressed)" in status) != deflate:
        raise Failed("%s: the status line %r does not match the extensions %r"
                     % (tab.who, status, extensions))
    return extensions


async def run(devtools_url, page_url, screenshot, compression):
    async with connect(devtools_url, max_size=None, ping_interval=None, open_timeout=STEP_TIMEOUT) as ws:
        cdp = Cdp(ws)
        alice, bob = Tab(cdp, "alice's tab"), Tab(cdp, "bob's tab")
        tabs = [alice, bob]
        try:
            url = "%s#%s" % (page_url, ROOM)
            for tab in tabs:
                await tab.open()
                await tab.navigate(url)
                await tab.wait_for(
                    "document.getElementById('status').textContent.startsWith('connected')",
                    "the page's WebSocket to connect",
                )
                extensions = await check_compression(tab, compression)

            # Name yourself: the server announces each arrival to the named members.
            await alice.type_and_enter("alice")
            await alice.wait_for_line("* alice joined %s (2 here)" % ROOM)
            await bob.type_and_enter("bob")
            await bob.wait_for_line("* bob joined %s (2 here)" % ROOM)
            await alice.wait_for_line("* bob joined %s (2 here)" % ROOM)

            await alice.type_and_enter("hello from alice's page")
            for tab in tabs:
                await tab.wait_for_line("alice: hello from alice's page")
            await bob.type_and_enter("hi from bob's page ✓")
            for tab in tabs:
                await tab.wait_for_line("bob: hi from bob's page ✓")

            # Captured before the long line, which would fill the page.
            await alice.call("Page.bringToFront")
            shot = await alice.call("Page.captureScreenshot", {"format": "png"})
            png = base64.b64decode(shot["data"])
            with open(screenshot, "wb") as f:
                f.write(png)

            await alice.type_and_enter(LONG_LINE)
            for tab in tabs:
                await tab.wait_for_line("alice: " + LONG_LINE)
            # Still the status of a named member, still saying what was agreed.
            for tab in tabs:
                await check_compression(tab, compression)

            errors = [
                "%s: %s" % (t.who, p.get("exceptionDetails", {}).get("text"))
                for t in tabs
                for s, m, p in cdp.events
                if s == t.session and m == "Runtime.exceptionThrown"
            ]
            if errors:
                raise Failed("script errors in the page: %s" % "; ".join(errors))

            lines = await alice.evaluate("document.querySelectorAll('#log div').length")
            return (
                "2 tabs chatted, a %d-byte line too; extensions=%s; alice's page shows %d "
                "lines; screenshot %d bytes" % (len(LONG_LINE), extensions or "none", lines, len(png))
            )
        except Failed as e:
            pages = []
            for tab in tabs:
                if tab.session:
                    pages.append("--- %s:\n%s" % (tab.who, await tab.page_text()))
            raise Failed("%s\n%s" % (e, "\n".join(pages))) from None
        finally:
            cdp.reader.cancel()


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("compressed", "plain"):
        sys.exit("usage: browser_chat.py DEVTOOLS_URL PAGE_URL SCREENSHOT compressed|plain")
    try:
        summary = asyncio.run(asyncio.wait_for(run(*sys.argv[1:]), RUN_TIMEOUT))
    except Failed as e:
        sys.exit("browser chat: %s" % e)
    except (asyncio.TimeoutError, TimeoutError):
        sys.exit("browser chat: timed out (over %d s)" % RUN_TIMEOUT)
    except websockets.exceptions.WebSocketException as e:
        sys.exit("browser chat: DevTools connection: %s: %s" % (type(e).__name__, e))
    except OSError as e:
        sys.exit("browser chat: %s: %s" % (type(e).__name__, e))
    print("ok", summary, flush=True)


if __name__ == "__main__":
    main()
