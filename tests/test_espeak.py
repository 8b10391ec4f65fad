"""eSpeak NG through ctypes, for real: audio, word marks, voices, processes, hostile text, speed."""

from __future__ import annotations

import array
import concurrent.futures
import multiprocessing
import os
import pickle
import threading
from typing import Any

import pytest

from reviewpub.engines.base import Speech
from reviewpub.engines.espeak import BUFFER_MS, SYNTH_CALLBACK, EspeakEngine, Library
from reviewpub.errors import SettingsError

SENTENCE = "The crew of the station watches the Earth below."


def peak(samples: bytes) -> int:
    """Largest absolute sample value of 16-bit PCM."""
    return max((abs(value) for value in array.array("h", samples)), default=0)


def longest_silence_s(speech: Speech, threshold: int = 200) -> float:
    """The longest run of near-silent samples, in seconds (a pause an SSML <break> would make)."""
    longest = run = 0
    for value in array.array("h", speech.samples):
        run = run + 1 if abs(value) < threshold else 0
        longest = max(longest, run)
    return longest / speech.sample_rate


def words_at_marks(text: str, speech: Speech) -> list[str]:
    """The word of ``text`` starting at each word mark."""
    return [text[mark.text_offset :].split()[0] for mark in speech.words]


# --- sound -----------------------------------------------------------------------------------------


def test_speech_is_non_silent_pcm_at_the_library_sample_rate() -> None:
    speech = EspeakEngine().synthesize(SENTENCE, voice="en-us")
    assert speech.sample_rate == Library.get().sample_rate == 22050
    assert len(speech.samples) % 2 == 0
    assert 1.5 < speech.duration_s < 5.0
    assert peak(speech.samples) > 3000


def test_word_marks_point_at_words_in_increasing_order() -> None:
    """eSpeak NG marks most words; it may fold a short word into the next ("of the")."""
    speech = EspeakEngine().synthesize(SENTENCE, voice="en-us")
    starts = {
        index
        for index, character in enumerate(SENTENCE)
        if character != " " and (index == 0 or SENTENCE[index - 1] == " ")
    }
    assert {mark.text_offset for mark in speech.words} <= starts
    marked = words_at_marks(SENTENCE, speech)
    assert marked[0] == "The" and marked[-1] == "below." and len(marked) >= 0.75 * len(starts)
    offsets = [mark.text_offset for mark in speech.words]
    samples = [mark.sample for mark in speech.words]
    assert offsets == sorted(offsets) and samples == sorted(samples) and len(set(samples)) == len(samples)
    assert samples[-1] < speech.sample_count


def test_word_marks_are_character_offsets_even_after_non_ascii_letters() -> None:
    text = "Pilou Asbæk and Masha Maškova shine."
    speech = EspeakEngine().synthesize(text, voice="en-us")
    assert words_at_marks(text, speech) == ["Pilou", "Asbæk", "and", "Masha", "Maškova", "shine."]


def test_the_same_sentence_gives_the_same_samples_whatever_came_before() -> None:
    # Utterances of different lengths in between: a state that flips every glottal cycle or
    # runs through a table would show up after at least one of them.
    engine = EspeakEngine()
    first = engine.synthesize(SENTENCE, voice="en-us")
    for between in (
        "Hello.",
        "Q?",
        "x",
        "Another one, with commas, and pauses; yes.",
        "Something entirely different, and rather longer, was said in between.",
    ):
        engine.synthesize(between, voice="en-us")
        assert engine.synthesize(SENTENCE, voice="en-us") == first, between
    engine.synthesize("Now in another voice.", voice="en-gb")
    assert engine.synthesize(SENTENCE, voice="en-us") == first


def test_voice_rate_and_pitch_change_the_sound() -> None:
    normal = EspeakEngine().synthesize(SENTENCE, voice="en-us")
    fast = EspeakEngine(rate=300).synthesize(SENTENCE, voice="en-us")
    slow = EspeakEngine(rate=100).synthesize(SENTENCE, voice="en-us")
    british = EspeakEngine().synthesize(SENTENCE, voice="en-gb")
    low = EspeakEngine(pitch=10).synthesize(SENTENCE, voice="en-us")
    assert fast.duration_s < normal.duration_s * 0.75 < slow.duration_s * 0.75
    assert british.samples != normal.samples
    assert low.samples != normal.samples and abs(low.duration_s - normal.duration_s) < 0.2 * normal.duration_s


def test_voices_can_be_given_as_ids_languages_or_with_a_variant() -> None:
    engine = EspeakEngine()
    for voice in ("en-us", "en-GB", "en", "gmw/en-US", "en-us+f3", "fr"):
        assert peak(engine.synthesize("Hello.", voice=voice).samples) > 1000, voice
        engine.check_voice(voice)


# --- voices ------------------------------------------------------------------------------------------


def test_voices_are_listed_from_the_library_and_filtered_by_language() -> None:
    engine = EspeakEngine()
    everything = engine.voices()
    english = engine.voices("en")
    assert len(everything) > 100
    assert {"en-us", "en-gb", "en-gb-scotland"} <= {voice.id for voice in english}
    assert all(any(code.startswith("en") for code in voice.languages) for voice in english)
    assert {voice.id for voice in engine.voices("en-gb")} >= {"en-gb", "en-gb-x-rp"}
    assert "en-us" not in {voice.id for voice in engine.voices("en-gb")}
    assert engine.voices("xx") == []


@pytest.mark.parametrize(
    ("voice", "expected"),
    [
        (
            "xx",
            "unknown voice 'xx' for espeak; try: en, en-gb, en-us, de, es, fr, ... (reviewpub voices --engine espeak)",
        ),
        ("en-zz", "unknown voice 'en-zz' for espeak; try: en-029, en-gb, en-gb-scotland, en-gb-x-gbclan, "),
    ],
)
def test_an_unknown_voice_is_one_line_naming_others(voice: str, expected: str) -> None:
    with pytest.raises(SettingsError) as raised:
        EspeakEngine().check_voice(voice)
    assert str(raised.value).startswith(expected)
    with pytest.raises(SettingsError) as spoken:
        EspeakEngine().synthesize("Hello.", voice=voice)
    assert str(spoken.value) == str(raised.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rate": 20}, "--rate 20: eSpeak NG speaks 80 to 450 words per minute"),
        ({"rate": True}, "--rate True: eSpeak NG speaks 80 to 450"),
        ({"pitch": 120}, "--pitch 120: eSpeak NG's pitch goes from 0 to 99"),
    ],
)
def test_rate_and_pitch_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        EspeakEngine(**options)


# --- hostile text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script> & more",
        "<speak>Hello <break time='5s'/> there</speak>",
        "Tom &amp; Jerry &lt;3 &#0; ]]> <![CDATA[ x ]]>",
        "[[h@'l@U]] popcorn 🍿 and ❤️ 👍🏽",
        "\x1b[31m red \x07 bell \x7f",
        "",
        "   ",
        "a" * 3000,
    ],
)
def test_hostile_text_is_read_as_plain_text(text: str) -> None:
    speech = EspeakEngine().synthesize(text, voice="en-us")
    assert speech.sample_rate == 22050
    if text.strip():
        assert peak(speech.samples) > 1000
        assert longest_silence_s(speech) < 1.0  # no SSML <break>, so no five-second pause
    assert all(0 <= mark.text_offset < max(1, len(text)) for mark in speech.words)


def test_a_nul_does_not_cut_the_text_short() -> None:
    engine = EspeakEngine()
    with_nul = engine.synthesize("Hello\x00 wide world.", voice="en-us")
    plain = engine.synthesize("Hello  wide world.", voice="en-us")
    assert with_nul == plain
    assert words_at_marks("Hello\x00 wide world.", with_nul) == ["Hello\x00", "wide", "world."]


# --- processes, threads, cost ------------------------------------------------------------------------


def speak_in_worker(engine: EspeakEngine, text: str) -> tuple[int, bytes]:
    """Run in a worker process: the engine arrives pickled, the library loads there."""
    return os.getpid(), engine.synthesize(text, voice="en-us").samples


def test_the_engine_pickles_without_the_library() -> None:
    engine = EspeakEngine(rate=220, pitch=30)
    data = pickle.dumps(engine)
    assert b"CDLL" not in data and len(data) < 200
    copy = pickle.loads(data)
    assert (copy.rate, copy.pitch) == (220, 30)


@pytest.mark.parametrize("start_method", sorted({"spawn", "fork"} & set(multiprocessing.get_all_start_methods())))
def test_two_worker_processes_each_speak(start_method: str) -> None:
    engine = EspeakEngine(rate=190)
    texts = ["One sentence here.", "Another, longer sentence over there.", "A third.", "And a fourth one."]
    expected = [engine.synthesize(text, voice="en-us").samples for text in texts]  # the parent's library is loaded
    context = multiprocessing.get_context(start_method)
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [pool.submit(speak_in_worker, engine, text) for text in texts]
        results = [future.result(timeout=60) for future in futures]
    assert [samples for _, samples in results] == expected
    assert os.getpid() not in {pid for pid, _ in results}


def test_threads_share_the_library_safely() -> None:
    engine = EspeakEngine()
    texts = [f"Sentence number {number} is spoken now." for number in range(8)]
    expected = {text: engine.synthesize(text, voice="en-us") for text in texts}
    results: dict[str, Speech] = {}

    def speak(text: str) -> None:
        results[text] = engine.synthesize(text, voice="en-us")

    threads = [threading.Thread(target=speak, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected


def test_the_library_is_set_up_once_and_the_voice_only_when_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = EspeakEngine()
    engine.synthesize("Warm up.", voice="en-us")
    library = Library.get()
    calls: list[bytes] = []
    real = library.library.espeak_SetVoiceByName

    def counting(name: bytes) -> int:
        calls.append(name)
        return int(real(name))

    monkeypatch.setattr(library.library, "espeak_SetVoiceByName", counting)
    for _ in range(3):
        engine.synthesize("Same voice.", voice="en-us")
    assert calls == [] and Library.get() is library
    engine.synthesize("Other voice.", voice="en-gb")
    engine.synthesize("Other voice again.", voice="en-gb")
    assert len(calls) == 1 and calls[0].endswith(b"+reviewpub")


def test_phonemes_show_how_a_text_is_read() -> None:
    engine = EspeakEngine()
    assert engine.phonemes("ISS", voice="en-us") == "ˈɪs"
    assert engine.phonemes("I S S", voice="en-us").count("ɛs") == 2
    assert " | " in engine.phonemes("Mr. Smith", voice="en-us")


def test_the_callback_buffer_is_in_every_clip_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # The buffer eSpeak NG fills before each callback can change some sentences' samples.
    from reviewpub.engines import espeak
    from reviewpub.narration.plan import clip_key

    engine = EspeakEngine()
    before = clip_key(engine, "en-us", SENTENCE)
    monkeypatch.setattr(espeak, "BUFFER_MS", espeak.BUFFER_MS // 2)
    assert clip_key(engine, "en-us", SENTENCE) != before


def test_a_long_sentence_comes_back_whole_through_few_callbacks() -> None:
    library = Library.get()
    calls = []
    real = library.collect

    def counting(samples: Any, count: int, events: Any) -> int:
        calls.append(count)
        return real(samples, count, events)

    speech = EspeakEngine().synthesize(SENTENCE * 3, voice="en-us")
    callback = SYNTH_CALLBACK(counting)  # kept referenced while the library holds it
    library.library.espeak_SetSynthCallback(callback)
    try:
        again = EspeakEngine().synthesize(SENTENCE * 3, voice="en-us")
    finally:
        library.library.espeak_SetSynthCallback(library.callback)
    assert again.samples == speech.samples and again.words == speech.words
    # One callback per BUFFER_MS of audio (and one to end), not one per 60 ms.
    assert len(calls) <= speech.duration_s * 1000 / BUFFER_MS + 2
