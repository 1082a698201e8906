"""``python -m fairsynth``: the same as the ``fairsynth`` command."""

from fairsynth.cli import main

if __name__ == "__main__":
    main()
