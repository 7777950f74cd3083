#!/usr/bin/env python
from shequ.cli import main

if __name__ == "__main__":
    main()
