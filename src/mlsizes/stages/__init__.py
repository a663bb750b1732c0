"""The pipeline stages, one module each, named after the DVC stage and the command that runs it. Every stage has
the same entry, run(paths, settings): load its inputs, process them, save its outputs. No stage imports another:
work two stages share lives in a lower layer."""
