from lmam.cli import main

main()
