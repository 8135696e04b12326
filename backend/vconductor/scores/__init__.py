"""A user's score (MusicXML or MIDI) with the audio: read safely, aligned to the audio (rendered from the score,
or a performance of it), turned into the job's beats and a ScoreGuide (docs/scores.md). music21 is imported
only where a score is read (a child process) and by the training data; importing this package imports none."""
