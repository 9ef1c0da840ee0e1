#!/usr/bin/env python3
"""Reference fixture for the Swift port of pycocoevalcap's PTB tokenisation (PTBTokenizer.swift).

Builds a deterministic corpus (fixed seed) of COCO-style captions and awkward cases, runs the
Stanford CoreNLP 3.4.1 jar shipped with pycocoevalcap exactly as pycocoevalcap 1.2 does (all
captions in one file, one per line, `PTBTokenizer -preserveLines -lowerCase FILE`, cwd = the
jar's folder), and writes Tests/BLIPEvalTests/Fixtures/ptb_tokens.json: a list of
{"caption", "tokens" (the jar's tokens of that caption's output line), "tokenized"
(pycocoevalcap's final string)}. It then checks "tokenized" against
pycocoevalcap.tokenizer.ptbtokenizer.PTBTokenizer().tokenize on the whole corpus.

Usage: python3 scripts/ptb_reference.py [--out PATH]   (needs java and pycocoevalcap)

Jar behaviours this script relies on or excludes (all checked when it runs):

* Line alignment. pycocoevalcap replaces only '\\n' inside a caption, joins with '\\n' and zips
  image ids with the output lines. An empty (or all-blank) caption is fine: the jar prints an
  empty line for it, so the count stays aligned (the corpus includes such captions). But the jar
  also treats '\\r', U+000B, U+000C, U+2028 and U+2029 as line breaks ('\\r' followed by the
  joining '\\n' counts as one), so a caption containing one of them adds (or, for a trailing
  '\\r', swallows) an output line and shifts every later caption. An SGML-like tag whose quoted
  attribute is left open (`<a b='x`) can even take in the following lines up to a later `'>`.
  Such captions are not in the corpus; ALIGNMENT_PROBES below shows each one and the run
  asserts that the line count changes. (U+0085 is not a line break here: the jar reads it as an
  ellipsis, so it stays in the corpus.)

* Context across lines. A few rules look past the end of a line: an abbreviation such as `etc.`
  keeps its period as a separate extra "." token when the next line starts with a space or a
  capital letter, an acronym such as `U.S.` (or a one-letter one, `A.`) is split the same way
  before a next line starting with `The`, `A`, `He`, ... , and `no.`/`fig.`/`art.`... stay one
  token only before a digit. The Swift port reads each caption as followed by an ordinary
  lower-case line. The script runs the corpus a second time with a line "x" after every caption
  and leaves out (listing them) the captions whose tokens differ between the two runs, i.e.
  those whose tokens depend on the caption that happens to follow them.

* Other quirks the port reproduces (visible in the fixture): with -lowerCase the bracket tokens
  print as -lrb- -rrb- -lcb- -rcb- -lsb- -rsb-, which are not in PUNCTUATIONS and so survive in
  "tokenized"; spaces inside fractions ("3 1/2") and phone numbers become U+00A0 inside one
  token; characters outside the jar's tables (e.g. all emoji, which the JFlex lexer sees as
  two UTF-16 surrogates) are silently deleted; U+0085 and "…" become "...".
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

SEED = 20240531

PUNCTUATIONS = ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-",
                ".", "?", "!", ",", ":", "-", "--", "...", ";"]

# Caption lists on which the jar's one-line-in, one-line-out alignment breaks (see the docstring).
ALIGNMENT_PROBES = [
    ["first", "a dog\ron a couch", "last"],
    ["first", "a cat on a mat\r", "last"],
    ["first", "two\x0bbirds", "last"],
    ["first", "form\x0cfeed", "last"],
    ["first", "line\u2028separator", "last"],
    ["first", "paragraph\u2029separator", "last"],
    ["first", "<a title='an open", "quote'> tag", "last"],
]
LINE_BREAKS = {"\r", "\x0b", "\x0c", "\u2028", "\u2029"}


def jar_dir():
    import pycocoevalcap.tokenizer.ptbtokenizer as ptb
    return os.path.dirname(os.path.abspath(ptb.__file__))


def run_jar(captions):
    """The jar's output lines for `captions`, run exactly as pycocoevalcap 1.2 runs it."""
    directory = jar_dir()
    sentences = "\n".join(c.replace("\n", " ") for c in captions)
    tmp = tempfile.NamedTemporaryFile(delete=False, dir=directory)
    tmp.write(sentences.encode())
    tmp.close()
    try:
        cmd = ["java", "-cp", "stanford-corenlp-3.4.1.jar", "edu.stanford.nlp.process.PTBTokenizer",
               "-preserveLines", "-lowerCase", os.path.basename(tmp.name)]
        out = subprocess.run(cmd, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    finally:
        os.remove(tmp.name)
    return out.stdout.decode().split("\n")


def tokens_of(line):
    return line.split(" ") if line else []


def pycoco_tokenized(line):
    """pycocoevalcap's post-processing of one output line."""
    return " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS)


# ----------------------------------------------------------------------------------------------
# Corpus

SUBJECTS = [
    "a man", "a woman", "two dogs", "a group of people", "a young boy", "an elderly woman", "a cat",
    "a giraffe", "three zebras", "a plate of food", "a red double decker bus", "a baseball player",
    "a skateboarder", "a herd of sheep", "a bowl of fruit", "a train", "a large jetliner", "a kitchen",
    "a small bathroom", "a teddy bear", "a little girl", "a surfer", "a pizza", "an elephant",
    "a stop sign", "a tennis player", "a motorcycle", "a fire hydrant", "people", "a brown horse",
    "a couple", "a clock tower", "a black and white photo", "a chef", "two men", "a child",
    "several cows", "a white toilet", "a laptop", "a bird", "a traffic light", "a vase of flowers",
]
VERBS = [
    "is riding", "sitting on", "standing next to", "holding", "walking down", "flying over", "eating",
    "laying on", "playing with", "parked in front of", "looking at", "cutting", "swinging",
    "that is sitting on", "is standing in", "grazing in", "waiting at", "leaning against",
    "covered in", "hanging from", "is throwing", "is catching", "watching", "crossing",
]
OBJECTS = [
    "a wave", "a surfboard", "the beach", "a table", "a busy street", "a grassy field", "the snow",
    "a kite", "a frisbee", "a wooden bench", "a city street", "a kitchen counter", "the water",
    "a tennis court", "a baseball bat", "an umbrella", "the sidewalk", "a laptop computer",
    "a cell phone", "a sandwich", "a window", "the tracks", "a dirt road", "a mirror", "a cake",
]
MODIFIERS = [
    "", "", "", " in the rain", " at night", " on a sunny day", " near the ocean", " with a blue sky",
    " while another man watches", " in front of a building", " next to each other", " on the side",
    " during the day", " in a large room", ", and a dog", " with his friends",
]
ENDINGS = [".", ".", "", "", " .", "!", "?", "..", " ", "  .", ".\t"]

SNIPPETS = {
    "quotes": ['"double quotes"', "'single quotes'", "`backticks`", "``latex''", "“curly”", "‘curly single’",
               "«guillemets»", 'the "best" dog', "a 'so-called' chef", 'he said "hi"', "“ spaced ”",
               "'", '"', "''", "`", 'quote"inside', "„low”", "‹angle›", "&quot;entity&quot;",
               "it&apos;s", "the ‘90s", "‘tis", "'bout time"],
    "brackets": ["(a dog)", "[a cat]", "{a bird}", "( spaced )", "((nested))", "a)b", "a(b", "(1)",
                 "[2]", "{3}", "-LRB-", "-rrb-", "(555) 123-4567", "f(x)", "(c)", "-LSB- x -RSB-"],
    "contractions": ["don't", "can't", "won't", "I'm", "it's", "y'all", "o'clock", "rock'n'roll",
                     "we're", "they've", "he'd", "she'll", "isn't", "wasn't", "couldn't", "shouldn't've",
                     "ain't", "'em", "'cause", "'til", "ma'am", "c'mon", "cannot", "gonna", "gotta",
                     "wanna", "lemme", "gimme", "'twas", "'tis", "DON'T", "Can't", "can’t", "it’s",
                     "don`t", "n't", "'s", "'ll", "li'l", "ol'", "nor'easter", "Dunkin'", "somethin'",
                     "O'Reilly", "D'Angelo", "l'amour", "Y'know", "y'", "doin'", "cap'n", "c'est"],
    "possessives": ["the dog's bone", "the dogs' bones", "James's car", "children's toys", "its tail",
                    "the man’s hat", "Charles' book", "the U.S.'s flag", "McDonald's", "Kids' Corner"],
    "dashes": ["well-known", "a - b", "a -- b", "a --- b", "a ---- b", "a ----- b", "a—b", "a — b", "a–b",
               "a ― b", "-", "--", "---", "state-of-the-art", "x-ray", "e-mail", "co-ed", "pre-game",
               "anti-war", "pro-choice", "-5", "+5", "10-15", "a_b", "snake_case", "__init__", "a‐b",
               "a‑b", "T-shirt", "U-turn", "mid-1990s", "half-eaten", "&mdash;", "&ndash;"],
    "numbers": ["2", "10", "1,000", "1,000,000", "3.14", ".5", "0.5", "10.", "007", "1st", "2nd", "3rd",
                "21st", "100th", "1/2", "3 1/2", "3-1/2", "½", "¼", "¾", "⅓", "⅔", "⅛", "12:30", "12:30pm",
                "7 a.m.", "9 p.m.", "5pm", "$5", "$5.99", "US$5", "£3", "€10", "¢50", "¥100", "5%", "50 %",
                "#1", "No. 5", "no. 5", "fig. 3", "ca. 1900", "1990s", "'90s", "’90s", "2x4", "4x4",
                "10-20", "1-800-555-1234", "555-1234", "555 1234", "+1 555 123 4567", "12/25/2010",
                "25-12-2010", "1.2.3", "192.168.0.1", "1:2", "2:1", "10kg", "5km", "6'2\"", "5'", "90°",
                "x²", "H₂O", "1e10", "3×4", "2+2=4", "٣", "१२"],
    "abbreviations": ["Mr. Smith", "Mrs. Jones", "Dr. Who", "St. Louis", "Mt. Everest", "U.S.", "U.S.A.",
                      "U.K.", "e.g.", "i.e.", "etc.", "vs.", "a.m.", "p.m.", "Jan. 5", "Inc.", "Co.",
                      "Ltd.", "Jr.", "Ph.D.", "Ave.", "Blvd.", "Calif.", "N.Y.", "A.B.C.", "a.k.a.",
                      "approx.", "Prof. X", "Gen. Lee", "Sept. 11", "Wash.", "Corp.", "Pty. Ltd.",
                      "S&P-500", "AT&T", "Q&A", "R&B", "AT&amp;T", "C.D.s", "No.", "Fig.", "op. cit."],
    "ellipses": ["...", "wait...", "so . . . yes", "…", "what…", "....", ".....", "......", ". .", "?!",
                 "!!!", "???", "?!?", "a.b", "end.", ". . . .", "\u0085"],
    "urls": ["http://www.example.com", "https://cocodataset.org/#home", "www.google.com",
             "google.com", "example.org/path", "http://a.b/c?d=e&f=g.", "foo@bar.com",
             "first.last@example.co.uk", "<foo@bar.com>", "http://x.com/(a)", "cats.jpg", "photo.png",
             "file.tar.gz", "index.html", "README.txt", "ftp://x.y", "HTTP://CAPS.COM/PATH"],
    "emoticons": [":)", ":-(", ";)", ":D", ":P", ":-P", "<3", "</3", ":/", ":'(", "^_^", "^.^", "o_O",
                  "(^_^)", "(-_-)", "x_x", ">:(", "=)", ":]", ":[", ":O", ":{", ":|", ":\\", ":@", "8)"],
    "social": ["#sunset", "#tbt", "@user", "@john_doe", "#1", "#", "##", "@", "@@", "#hash_tag",
               "@User123", "#café"],
    "unicode": ["café", "naïve", "Zürich", "São Paulo", "Ærø", "straße", "Øresund", "İstanbul", "ıi",
                "东京", "日本の猫", "서울", "Москва", "Ελλάδα", "ΟΔΟΣ", "Ἀθῆναι", "עברית", "العربية", "हिन्दी",
                "ไทย", "e\u0301", "n\u0303o", "ﬁne", "Ｆｕｌｌ", "ⓐⓑ", "Ⅻ", "ℌ", "K", "ſ", "µ",
                "😀", "🐶 dog", "a😀b", "👍🏽", "🇺🇸", "❤", "☺", "★", "♪", "©", "®", "™", "°", "§", "¶",
                "•", "·", "†", "‰", "→", "∞", "≠", "√", "∑", "€", "\u00a0", "\u00ad", "soft\u00adhyphen",
                "\u200b", "zero\u200bwidth", "\ufeff", "\u3000", "\u2009thin", "\u200e", "\x00", "\x01",
                "\x07", "\x1b", "\x1f", "\x7f", "\x80", "\x91quoted\x92", "\x93dq\x94", "\x96", "\x97"],
    "symbols": ["&", "&amp;", "a & b", "a&b", "&nbsp;", "&lt;", "&gt;", "&eacute;", "&#169;", "a/b", "a / b",
                "and/or", "1/2/3", "w/", "c/o", "\\", "a\\b", "*", "**", "a*b", "***", "\\*", "+", "=", "==",
                "<", ">", "<<", ">>", "<b>bold</b>", "<br/>", "<!-- comment -->", "<img src='x.jpg'>",
                "|", "~", "^", "%", "$", "$$", "#", "@", "_", "__", "C++", "C#", "F#", "c++"],
    "spacing": ["two  spaces", "three   spaces", "tab\there", "\ttab first", "trailing ", " leading",
                "  both  ", "\t", " ", "nbsp\u00a0here", "ideographic\u3000space"],
    "caps": ["A MAN RIDING A HORSE", "THE U.S. FLAG", "I AM HERE", "DON'T GO", "NYC", "IBM", "OK"],
}


def realistic(rng):
    caption = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(MODIFIERS)}"
    if rng.random() < 0.6:
        caption = caption[0].upper() + caption[1:]
    if rng.random() < 0.05:
        caption = caption.upper()
    return caption + rng.choice(ENDINGS)


def with_snippet(rng):
    snippet = rng.choice(SNIPPETS[rng.choice(sorted(SNIPPETS))])
    words = realistic(rng).split(" ")
    where = rng.random()
    if where < 0.15:
        return snippet
    if where < 0.45:
        return " ".join(words).rstrip(" .") + " " + snippet
    if where < 0.6:
        return snippet + " " + " ".join(words)
    cut = rng.randrange(len(words) + 1)
    glue = "" if rng.random() < 0.15 else " "
    return " ".join(words[:cut]) + glue + snippet + glue + " ".join(words[cut:])


SOUP = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 3 + "     \t" * 3 +
        "'\"`.,;:!?-_/\\()[]{}<>@#$%^&*+=~|" * 2 + "éßıİſKΣσ“”‘’«»…—–½£€¢¥°©®™東京😀\u00a0\u00ad\u200b\u0301")


def soup(rng):
    return "".join(rng.choice(SOUP) for _ in range(rng.randint(1, 25)))


def fixed_cases():
    cases = ["", " ", "   ", "\t", ".", "a", "A", "I", "a.", "A.", "ok.", "The end.", "etc.", "U.S."]
    for group in sorted(SNIPPETS):
        cases += SNIPPETS[group]
    cases += [
        "a man riding a wave on top of a surfboard.",
        "A dog (a golden retriever) catches a frisbee [mid-air] {wow}.",
        "Isn't it \"great\"? She said: 'yes' -- and left...",
        "3 1/2 cups of flour, 1,000 eggs & $5.99 -- 50% off!",
        "Meet me at 5:30 p.m. on Jan. 5 in Washington, D.C. The end.",
        "Mr. and Mrs. Smith's dog, Rex, won't eat its food :(",
        "see http://example.com/a_b?c=d, or email me@example.com.",
        "a caption with ... an ellipsis … and a dash — here",
        "“Curly quotes” and ‘single ones’ in a sentence",
        "A tall giraffe standing next to a tree . ",
        "two zebras grazing in a field , near a fence .",
        "I.B.M. and A.T.&T. are companies.",
        "the word cannot and gonna and 'tis",
        "x " * 300 + "end",
        "word" * 200,
        "a,b;c:d!e?f.g",
        "a:b", "a;b", "a,b", "a!b", "a?b", "a.b.c", "1.a", "a.1",
        "hello.World", "end.With", "x. y", "x.y z",
        # e-mail-like tokens may end in characters Python's rstrip() removes from the line
        "write to a@b\x1f", "a@b\u3000", "x@y\u2009", "mail a@b\u202f", "a@b\x1c c@d\x1d",
    ]
    return cases


def build_corpus():
    rng = random.Random(SEED)
    corpus = fixed_cases()
    corpus += [realistic(rng) for _ in range(900)]
    corpus += [with_snippet(rng) for _ in range(1100)]
    corpus += [soup(rng) for _ in range(350)]
    # pycocoevalcap replaces '\n' itself; other line breaks would misalign the jar's lines.
    return [c for c in corpus if not (set(c) & LINE_BREAKS)]


# ----------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "Tests", "BLIPEvalTests", "Fixtures",
                                                      "ptb_tokens.json"))
    args = parser.parse_args()

    # 1. Line alignment: empty lines keep it, the probes break it.
    empties = ["a", "", "b", "   ", "", "c", ""]
    lines = run_jar(empties)
    assert lines == ["a", "", "b", "", "", "c", ""], lines
    print(f"empty captions: {len(empties)} captions -> {len(lines)} lines (aligned)")
    for probe in ALIGNMENT_PROBES:
        out = run_jar(probe)
        alone = [run_jar([caption]) for caption in probe]
        aligned = len(out) == len(probe) and all(len(a) == 1 and a[0] == o for a, o in zip(alone, out))
        assert not aligned, (probe, out)
        print(f"misaligned: {probe!r} -> {len(out)} lines: {out}")

    # 2. The corpus, as pycocoevalcap runs it, and with a plain "x" line after each caption.
    corpus = build_corpus()
    lines = run_jar(corpus)
    assert len(lines) == len(corpus), (len(lines), len(corpus))
    spaced = run_jar([line for c in corpus for line in (c, "x")])
    assert len(spaced) == 2 * len(corpus) and all(x == "x" for x in spaced[1::2])

    entries, dependent = [], []
    for i, (caption, line) in enumerate(zip(corpus, lines)):
        if line != spaced[2 * i]:
            nxt = corpus[i + 1] if i + 1 < len(corpus) else "<end of file>"
            dependent.append((caption, nxt, line, spaced[2 * i]))
            continue
        tokens = tokens_of(line)
        assert all(tokens), (caption, line)
        entries.append({"caption": caption, "tokens": tokens, "tokenized": pycoco_tokenized(line)})
    print(f"left out, tokens depend on the following caption: {len(dependent)}")
    for caption, nxt, line, alone in dependent:
        print(f"  {caption!r} before {nxt[:20]!r}: {line!r} (before a lower-case line: {alone!r})")

    # 3. Cross-check "tokenized" with pycocoevalcap itself (whole corpus, one caption per image).
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    result = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(corpus)})
    for i, line in enumerate(lines):
        assert result[i] == [pycoco_tokenized(line)], (corpus[i], result[i])
    print(f"pycocoevalcap PTBTokenizer agrees on all {len(corpus)} captions")

    # Same tokens regardless of duplicates: keep the first of identical captions.
    seen, unique = set(), []
    for entry in entries:
        if entry["caption"] not in seen:
            seen.add(entry["caption"])
            unique.append(entry)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in unique)
                + "\n]\n")
    print(f"wrote {len(unique)} entries ({os.path.getsize(args.out)} bytes) to {os.path.abspath(args.out)}")


if __name__ == "__main__":
    sys.exit(main())
