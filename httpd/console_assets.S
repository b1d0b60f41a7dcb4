/* httpd/console_assets.S: the console's page, style, script and icon (httpd/console/), built
 * into blobhttpd by the assembler's .incbin: no generated file, no tool beyond the compiler
 * (gcc and clang both take it), and make rebuilds this object when an asset changes
 * (httpd/module.mk). Each asset is a pair of symbols, NAME and NAME_end, declared in
 * console.c. */

#define ASSET(name, file)                                                                          \
    .globl name;                                                                                   \
    .globl name##_end;                                                                             \
    .balign 16;                                                                                    \
    name:                                                                                          \
    .incbin file;                                                                                  \
    name##_end:

    .section .rodata
    ASSET(console_index_html, "httpd/console/index.html")
    ASSET(console_css, "httpd/console/console.css")
    ASSET(console_js, "httpd/console/console.js")
    ASSET(console_icon, "httpd/console/favicon.svg")

    /* no executable stack for the program that links this */
    .section .note.GNU-stack, "", @progbits
