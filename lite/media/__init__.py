"""Media: formats, safe opening, probing, assembling chunks, the waveform."""
