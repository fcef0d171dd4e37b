"""probe"""

X = 1
