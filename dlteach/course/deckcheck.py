"""Open built decks in headless Chromium and measure every slide: overflow, code cut off, figure size, notes.

Used by `dlteach slides` (when the playwright package and Debian's /usr/bin/chromium are there) and by
the browser tests. Each deck is walked with the right-arrow key alone, slide by slide, at each screen
size; requests that leave the deck's folder are blocked and counted.
"""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZES = ((1280, 720), (1024, 768))
MIN_FIGURE_SHARE = 0.70          # of the slide's width; or, for a figure taller than the slide is wide,
MIN_FIGURE_HEIGHT_SHARE = 0.75   # of its height: a square figure 70% of 1280 px wide cannot fit in 720

def block_outside(page, allowed_prefix):
    """Abort every request of `page` outside allowed_prefix (data: and blob: pass); return the list
    the aborted addresses are recorded in."""
    outside = []

    def route(route):
        url = route.request.url
        if url.startswith(allowed_prefix) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()
    page.route("**/*", route)
    return outside


MEASURE_JS = """() => {
  const slide = Reveal.getCurrentSlide();
  const box = slide.getBoundingClientRect();
  const scale = Reveal.getScale();
  // Content below the bottom edge: the lowest child's bottom against the slide's own height.
  let bottom = 0;
  for (const el of slide.querySelectorAll('h1,h2,h3,h4,p,li,pre,img,svg,table,mjx-container,.jp-OutputArea-output')) {
    if (el.closest('aside.notes')) continue;
    const r = el.getBoundingClientRect();
    if (r.height > 0) bottom = Math.max(bottom, r.bottom);
  }
  const overflow = Math.max(0, (bottom - box.top) / scale - Reveal.getConfig().height);
  const cut = [...slide.querySelectorAll('pre')].filter(p => p.scrollWidth > p.clientWidth + 1).length;
  const wide = [...slide.querySelectorAll('mjx-container[display="true"]')]
      .filter(m => m.getBoundingClientRect().width / scale > Reveal.getConfig().width + 1).length;
  const imgs = [...slide.querySelectorAll('.jp-OutputArea-output img')].filter(i => !i.closest('aside.notes'));
  // The width the picture is drawn at: object-fit "contain" may leave the element wider than its picture.
  const drawn = i => { const r = i.getBoundingClientRect();
    return i.naturalHeight ? Math.min(r.width, r.height * i.naturalWidth / i.naturalHeight) : r.width; };
  const drawnHeight = i => { const w = drawn(i);
    return i.naturalWidth ? w * i.naturalHeight / i.naturalWidth : i.getBoundingClientRect().height; };
  const share = imgs.length ? Math.max(...imgs.map(i => drawn(i) / box.width)) : null;
  const heightShare = imgs.length ? Math.max(...imgs.map(i => drawnHeight(i) / box.height)) : null;
  const notes = [...slide.querySelectorAll('aside.notes')].map(a => a.textContent).join(' ').trim().length;
  const title = (slide.querySelector('h1,h2,h3,h4') || {}).textContent || '';
  return {index: Reveal.getIndices(), overflow, cut, wide, share, heightShare, notes, title: title.replace('¶', '').trim()};
}"""


def available():
    """Whether decks can be measured here: playwright importable and Chromium at /usr/bin/chromium."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


def walk(page, url, expected=None):
    """Open a deck and press the right arrow until it stops moving; return one measurement per slide."""
    page.goto(url)
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)")
    page.evaluate("() => MathJax.startup.promise")
    rows = []
    limit = (expected or 200) + 5
    for _ in range(limit):
        rows.append(page.evaluate(MEASURE_JS))
        before = page.evaluate("() => Reveal.getIndices()")
        page.keyboard.press("ArrowRight")
        if page.evaluate("() => Reveal.getIndices()") == before:
            break
    return rows


def problems(rows, *, notes=True):
    """Sentences naming each slide that breaks the presenting rules (numbers from 1).

    notes=False leaves out slides without speaker notes (for a caller that has checked the notes itself).
    """
    out = []
    for number, r in enumerate(rows, start=1):
        where = f"slide {number} ({r['title'][:40] or 'untitled'})"
        if r["overflow"] > 2:
            out.append(f"{where}: content runs {r['overflow']:.0f} px below the bottom edge")
        if r["cut"]:
            out.append(f"{where}: {r['cut']} code block(s) cut off at the right edge")
        if r["wide"]:
            out.append(f"{where}: a formula wider than the slide")
        if r["share"] is not None and r["share"] < MIN_FIGURE_SHARE and r["heightShare"] < MIN_FIGURE_HEIGHT_SHARE:
            out.append(f"{where}: its figure takes {r['share']:.0%} of the slide's width and {r['heightShare']:.0%} "
                       f"of its height (at least {MIN_FIGURE_SHARE:.0%} of the width, or "
                       f"{MIN_FIGURE_HEIGHT_SHARE:.0%} of the height)")
        if notes and not r["notes"]:
            out.append(f"{where}: no speaker notes")
    return out


def check_decks(decks, *, sizes=SIZES, screenshots=None):
    """{deck path: {size: (rows, problems, requests that left)}} for each built deck at each size.

    screenshots: a folder to write every slide's picture into (deck-WxH-NN.png), for a person to look at.
    """
    from playwright.sync_api import sync_playwright
    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            for deck in map(Path, decks):
                results[deck] = {}
                folder = deck.parent.resolve().as_uri()
                for width, height in sizes:
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    left = block_outside(page, folder)
                    rows = walk(page, deck.resolve().as_uri())
                    if screenshots is not None:
                        Path(screenshots).mkdir(parents=True, exist_ok=True)
                        page.evaluate("() => Reveal.slide(0, 0)")
                        for number in range(1, len(rows) + 1):
                            page.screenshot(path=str(Path(screenshots) / f"{deck.stem}-{width}x{height}-{number:02d}.png"))
                            page.keyboard.press("ArrowRight")
                    results[deck][(width, height)] = (rows, problems(rows), left)
                    context.close()
        finally:
            browser.close()
    return results
