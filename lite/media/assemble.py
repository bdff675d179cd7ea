"""Assembling uploaded recording chunks into one playable master file: the names the server uses.

Meeting bots record with MediaRecorder (WebM) or write PCM (WAV) and upload a chunk every few seconds.
When the meeting ends, the chunks are joined: WAV in ``lite.media.assemble_wav`` (the PCM of every chunk
behind one header with correct sizes), WebM in ``lite.media.assemble_webm`` (concatenated, then remuxed
with PyAV so that the master has a real Duration and Cues). Everything is synchronous (the server
calls it from a worker thread) and streams in blocks of at most 1 MiB (``lite.media.assemble_base``), so
memory use does not grow with the size of a recording. ``probe_duration`` (``lite.media.probe``) reads
the duration a container states.
"""

from __future__ import annotations

from lite.media.assemble_base import Assembled, AssemblyError
from lite.media.assemble_wav import assemble_wav
from lite.media.assemble_webm import assemble_webm
from lite.media.probe import probe_duration

__all__ = ["Assembled", "AssemblyError", "assemble_wav", "assemble_webm", "probe_duration"]
