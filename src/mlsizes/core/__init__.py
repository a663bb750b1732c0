"""The ground floor: where every project file lives (paths), the study's typed settings, one-line errors, and
atomic writes in the stored formats. Imports nothing else of mlsizes."""
