from mnistctl.entry import main

main()
