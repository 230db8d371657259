"""espeak-ng's voice, speed and volume, set so that they hold.

pyttsx3 2.99 queues each setting and hands it to espeak-ng just before ending its loop, and it
ends that loop with ``espeak_Cancel`` whenever espeak-ng says it is busy. A setting espeak-ng had
only queued (it was still busy with the one before) is cancelled with it. Seen here: the first
sentence came out at pyttsx3's 200 words a minute and full volume, and "slower" at the old speed.
Here each sentence waits until espeak-ng is idle, so pyttsx3 has nothing to cancel, and the
settings are set directly and read back before the sentence is synthesized.
"""

from __future__ import annotations

import ctypes
import sys
import time
from dataclasses import dataclass
from typing import Optional, Tuple

from voice.base.errors import BedsideError

RATE, VOLUME = 1, 2  # espeak_PARAMETER in espeak-ng's speak_lib.h
CURRENT = 1  # espeak_GetParameter's second argument: the value in use, not the default
EE_OK = 0


class UnknownVoice(BedsideError):
    """The configured voice is not one espeak-ng has."""


class _VoiceSpec(ctypes.Structure):
    """espeak_VOICE, the criteria espeak_SetVoiceByProperties chooses a voice by."""

    _fields_ = (("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p))


@dataclass(frozen=True)
class EspeakSettings:
    words_per_minute: int
    volume_percent: int  # 0 - 100, as pyttsx3 maps its 0.0 - 1.0
    voice: Optional[str] = None


class Espeak:
    """The settings half of the espeak-ng library that pyttsx3 synthesizes with."""

    def __init__(self, library: ctypes.CDLL) -> None:
        # Declared here with all their arguments: pyttsx3 declares espeak_GetParameter without
        # the second one, so what it reads depends on a leftover register.
        self._set_parameter = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int)(
            ("espeak_SetParameter", library))
        self._get_parameter = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int)(
            ("espeak_GetParameter", library))
        self._set_voice = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p)(("espeak_SetVoiceByName", library))
        self._set_voice_by_properties = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_VoiceSpec))(
            ("espeak_SetVoiceByProperties", library))
        self._is_playing = ctypes.CFUNCTYPE(ctypes.c_int)(("espeak_IsPlaying", library))

    @classmethod
    def of_pyttsx3(cls) -> Optional["Espeak"]:
        """The library pyttsx3 loaded, once its engine exists; None where pyttsx3 uses another."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            from pyttsx3.drivers import _espeak
        except (ImportError, RuntimeError, OSError):
            return None
        return cls(_espeak.dll) if _espeak.dll is not None else None

    def use(self, settings: EspeakSettings, timeout: float = 2.0) -> bool:
        """Make espeak-ng speak with these settings from its next sentence on.

        First waits for the sentence espeak-ng may still be finishing: pyttsx3 would cancel it
        when its next loop ends, and that cancel can lose the settings and even the next sentence
        (seen here: no audio at all for 5 s). False if espeak-ng has still not taken the speed
        and volume after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while self._is_playing() and time.monotonic() < deadline:
            time.sleep(0.002)
        # A voice cannot be read back by the name it was set with, so it is set each time (0.4 ms).
        if settings.voice and not self._choose_voice(settings.voice):
            raise UnknownVoice(f"espeak-ng has no voice {settings.voice!r}; list them with: espeak-ng --voices "
                               "(and set voice: in the config file)")
        wanted = (settings.words_per_minute, settings.volume_percent)
        set_again_at = 0.0  # each try sets them again, in case something cancelled them meanwhile
        # Read back, not remembered: another pyttsx3 engine in the process may have changed them.
        while self._rate_and_volume() != wanted:
            now = time.monotonic()
            if now >= deadline:
                return False
            if now >= set_again_at:
                self._set_parameter(RATE, settings.words_per_minute, 0)
                self._set_parameter(VOLUME, settings.volume_percent, 0)
                set_again_at = now + 0.2
            time.sleep(0.002)
        return True

    def _choose_voice(self, voice: str) -> bool:
        """By name or file ("en-us", "en+f3"), else by language ("en-gb"), as the espeak-ng command does."""
        encoded = voice.encode("utf-8")
        if self._set_voice(encoded) == EE_OK:
            return True
        return self._set_voice_by_properties(ctypes.byref(_VoiceSpec(languages=encoded))) == EE_OK

    def _rate_and_volume(self) -> Tuple[int, int]:
        return self._get_parameter(RATE, CURRENT), self._get_parameter(VOLUME, CURRENT)
