"""Who gets a ticket: candidates are offered it (`pool`), one grabs it (`grab`) or a supervisor assigns it
(`assignment`); `holder` is what every way of taking it shares, `late_taps` answers taps after the fact."""
