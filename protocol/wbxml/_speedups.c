/*
 * The WBXML codec's hot loops in C: the same rules as protocol/wbxml/decoder.py and
 * protocol/wbxml/encoder.py (the reference), which the tests hold this file to, error for
 * error. Why the work is split this way, and what it bought, is in protocol/wbxml/fast.py.
 *
 *   to_xml(body) -> (xml: bytes, texts: list | None)
 *       WBXML -> XML text that lxml parses into the very tree the reference builds:
 *       code pages bound as prefixes on the root (<AirSync:Sync xmlns:AirSync="AirSync:">),
 *       text escaped (CR as &#13;, so that XML's line-end rule keeps it), an empty string
 *       as an empty CDATA section (lxml then reads '' where the reference set ''), opaque
 *       data as base64 text with opaque="base64". A text that would need many character
 *       references is left out and listed in ``texts`` as (element index, is tail, text).
 *       Raises WBXMLError(offset, reason).
 *
 *   fill_texts(root, texts)
 *       Sets those texts on the parsed tree, through lxml's public C API.
 *
 *   encode(element) -> bytes
 *       An lxml tree -> WBXML, reading libxml2's nodes in place through lxml's public C
 *       API. Raises WBXMLEncodeError(path, reason).
 *
 *   setup(page_names, tags, encode_table, global_tokens, max_depth, WBXMLError,
 *         WBXMLEncodeError)
 *       The code-page tables and error classes, handed over once by fast.py so that the
 *       Python modules stay their single source.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include <libxml/tree.h>
#include "lxml.etree_api.h"

/* WBXML global tokens (WBXML 1.3, section 7.1). */
#define SWITCH_PAGE 0x00
#define END 0x01
#define ENTITY 0x02
#define STR_I 0x03
#define STR_T 0x83
#define OPAQUE 0xC3
#define CONTENT_BIT 0x40
#define ATTRIBUTES_BIT 0x80

/* Far above MAX_DEPTH (100): sizes the decoder's element stack. */
#define DEPTH_CAPACITY 256

/* ------------------------------------------------------------------------------------ */
/* Tables, filled by setup()                                                             */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    char *qname;            /* "Page:Tag", as the XML text names the element */
    Py_ssize_t qname_len;
} TagName;

typedef struct {
    char *name;             /* "AirSync" */
    char *declaration;      /* ' xmlns:AirSync="AirSync:"' */
    Py_ssize_t declaration_len;
    TagName tags[64];       /* by token; qname NULL where the page defines none */
} Page;

typedef struct {
    char *ns;               /* namespace URI: "AirSync:" or "AirSync" */
    char *local;
    unsigned char page, token;
} EncodeEntry;

static Page *pages[256];
static Py_ssize_t root_gap;          /* room before the body for the root's start tag */
static EncodeEntry *encode_slots;    /* open addressing, a power of two in size */
static size_t encode_mask;
static const char *global_token_names[256];
static int max_depth = -1;
static PyObject *decode_error_class;
static PyObject *encode_error_class;

/* ------------------------------------------------------------------------------------ */
/* A growing byte buffer                                                                 */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buffer;

static int
buffer_grow(Buffer *b, Py_ssize_t extra)
{
    Py_ssize_t need = b->len + extra;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static inline int
buffer_reserve(Buffer *b, Py_ssize_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    return buffer_grow(b, extra);
}

static inline int
buffer_put(Buffer *b, const char *bytes, Py_ssize_t n)
{
    if (buffer_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, bytes, (size_t)n);
    b->len += n;
    return 0;
}

static inline int
buffer_byte(Buffer *b, unsigned char byte)
{
    if (buffer_reserve(b, 1) < 0)
        return -1;
    b->data[b->len++] = (char)byte;
    return 0;
}

#define BUFFER_LITERAL(b, text) buffer_put((b), (text), (Py_ssize_t)(sizeof(text) - 1))

static void
buffer_free(Buffer *b)
{
    PyMem_Free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------------------------ */
/* Characters                                                                            */
/* ------------------------------------------------------------------------------------ */

/* What an ASCII byte needs in XML text: nothing, an escape, or a refusal (XML 1.0 has no
 * place for control characters but tab, LF and CR). */
enum { PLAIN = 0, AMP, LT, GT, CR, FORBIDDEN };
static unsigned char ascii_class[128];

static void
init_character_tables(void)
{
    for (int c = 0; c < 0x20; c++)
        ascii_class[c] = FORBIDDEN;
    ascii_class['\t'] = ascii_class['\n'] = PLAIN;
    ascii_class['\r'] = CR;
    ascii_class['&'] = AMP;
    ascii_class['<'] = LT;
    ascii_class['>'] = GT;
}

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static signed char base64_value[256];   /* -1 outside the alphabet */

static void
init_base64_value(void)
{
    memset(base64_value, -1, sizeof base64_value);
    for (int i = 0; i < 64; i++)
        base64_value[(unsigned char)base64_alphabet[i]] = (signed char)i;
}

/* Length of the well-formed UTF-8 sequence at s[0..n), 0 when it is not one: Python's
 * strict decoder (no overlong forms, no surrogates, nothing above U+10FFFF). */
static inline int
utf8_sequence(const unsigned char *s, Py_ssize_t n)
{
    unsigned char c = s[0];
    unsigned char low = 0x80, high = 0xBF;
    int length;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        length = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        if (c == 0xE0)
            low = 0xA0;
        else if (c == 0xED)
            high = 0x9F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        if (c == 0xF0)
            low = 0x90;
        else if (c == 0xF4)
            high = 0x8F;
    }
    else
        return 0;
    if (n < length || s[1] < low || s[1] > high)
        return 0;
    for (int i = 2; i < length; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return length;
}

/* U+FFFE and U+FFFF: valid UTF-8, but not XML characters. */
static inline int
is_xml_nonchar(const unsigned char *s, int length)
{
    return length == 3 && s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF);
}

/* ------------------------------------------------------------------------------------ */
/* Decoding: WBXML -> XML text                                                           */
/* ------------------------------------------------------------------------------------ */

enum { CHARSET_UTF8, CHARSET_ASCII, CHARSET_LATIN1 };
static const char *charset_names[] = {"utf-8", "ascii", "latin-1"};

typedef struct {
    unsigned char page, token;
    unsigned char has_text;   /* the reference's "parent.text is not None" */
    Py_ssize_t index;         /* the element's place in document order, the root's 0 */
} OpenElement;

typedef struct {
    const unsigned char *data;
    Py_ssize_t size;
    const unsigned char *strings;   /* the string table */
    Py_ssize_t strings_len;
    int charset;
    Py_ssize_t body_start;

    Buffer out;                     /* root_gap bytes of room, then the body */
    OpenElement stack[DEPTH_CAPACITY];
    int depth;                      /* open elements; stack[depth - 1] is the parent */
    int has_root;
    int has_last;                   /* the parent has a closed child: text is its tail */
    Py_ssize_t last_index;          /* ... that child */
    int start_pending;              /* the latest start tag still lacks its '>' */
    Py_ssize_t element_count;
    Py_ssize_t opaque_index;        /* the element that last took opaque data, or -1 */
    unsigned char root_page, root_token;
    unsigned char pages_used[256];

    /* An opaque run: consecutive OPAQUE tokens of one element, one base64 text. */
    int opaque_open;
    unsigned char carry[3];
    int carry_len;
    Py_ssize_t opaque_total;

    /* A text run: the strings that become one element's text or tail. A run of one
     * string whose escaping would cost libxml2 more than setting the text afterwards is
     * held out of the XML text, into ``held``: [(element index, is tail, text), ...]. */
    int run_open;
    int run_is_tail;
    Py_ssize_t run_index;
    const unsigned char *run_held;
    Py_ssize_t run_held_len;
    PyObject *held;
} Decoder;

static int
decode_error(Py_ssize_t offset, const char *format, ...)
{
    char reason[256];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    PyObject *error = PyObject_CallFunction(decode_error_class, "ns", offset, reason);
    if (error != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
    return -1;
}

static int
read_mb_u_int32(const unsigned char *data, Py_ssize_t size, Py_ssize_t pos,
                uint32_t *value, Py_ssize_t *after)
{
    Py_ssize_t start = pos;
    uint64_t result = 0;
    for (int i = 0; i < 5; i++) {
        if (pos >= size)
            return decode_error(start, "truncated multi-byte integer");
        unsigned char byte = data[pos++];
        result = (result << 7) | (byte & 0x7F);
        if (!(byte & 0x80)) {
            if (result > 0xFFFFFFFFu)
                return decode_error(start, "multi-byte integer above 2**32-1");
            *value = (uint32_t)result;
            *after = pos;
            return 0;
        }
    }
    return decode_error(start, "multi-byte integer longer than 5 bytes");
}

static int
read_header(Decoder *d)
{
    const unsigned char *data = d->data;
    Py_ssize_t size = d->size, pos;
    uint32_t public_id, public_id_index = 0, charset_number = 106, length;
    int has_public_id_index = 0;

    if (size == 0)
        return decode_error(0, "empty document");
    if (data[0] > 0x03)
        return decode_error(0, "unsupported WBXML version byte 0x%02X", data[0]);
    if (read_mb_u_int32(data, size, 1, &public_id, &pos) < 0)
        return -1;
    if (public_id == 0) {   /* the public id is a string in the string table */
        if (read_mb_u_int32(data, size, pos, &public_id_index, &pos) < 0)
            return -1;
        has_public_id_index = 1;
    }
    Py_ssize_t charset_at = pos;
    if (data[0] > 0x00 && read_mb_u_int32(data, size, pos, &charset_number, &pos) < 0)
        return -1;   /* WBXML 1.0 has no charset field */
    switch (charset_number) {
    case 0: case 106: d->charset = CHARSET_UTF8; break;
    case 3: d->charset = CHARSET_ASCII; break;
    case 4: d->charset = CHARSET_LATIN1; break;
    default:
        return decode_error(charset_at, "unsupported charset (MIBenum %u)", charset_number);
    }
    Py_ssize_t length_at = pos;
    if (read_mb_u_int32(data, size, pos, &length, &pos) < 0)
        return -1;
    if ((uint64_t)pos + length > (uint64_t)size)
        return decode_error(length_at, "string table of %u bytes runs past the end", length);
    if (has_public_id_index && public_id_index >= length)
        return decode_error(length_at, "public id index outside the string table");
    d->strings = data + pos;
    d->strings_len = length;
    d->body_start = pos + length;
    return 0;
}

/* The '>' of a start tag waits until the element's first content: an opaque run may yet
 * need to put its attribute there. */
static inline int
close_start_tag(Decoder *d)
{
    if (!d->start_pending)
        return 0;
    d->start_pending = 0;
    return buffer_byte(&d->out, '>');
}

static inline char *
put_quad(char *o, unsigned int v)
{
    *o++ = base64_alphabet[v >> 18];
    *o++ = base64_alphabet[(v >> 12) & 63];
    *o++ = base64_alphabet[(v >> 6) & 63];
    *o++ = base64_alphabet[v & 63];
    return o;
}

/* Base64 of the run so far; up to two bytes wait in the carry for the next OPAQUE. */
static int
opaque_feed(Decoder *d, const unsigned char *bytes, Py_ssize_t n)
{
    Buffer *out = &d->out;
    if (buffer_reserve(out, (n + 2) / 3 * 4 + 4) < 0)
        return -1;
    char *o = out->data + out->len;
    Py_ssize_t i = 0;
    d->opaque_total += n;
    while (d->carry_len > 0 && i < n) {
        d->carry[d->carry_len++] = bytes[i++];
        if (d->carry_len == 3) {
            o = put_quad(o, (d->carry[0] << 16) | (d->carry[1] << 8) | d->carry[2]);
            d->carry_len = 0;
        }
    }
    for (; i + 3 <= n; i += 3)
        o = put_quad(o, (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2]);
    while (i < n)
        d->carry[d->carry_len++] = bytes[i++];
    out->len = o - out->data;
    return 0;
}

static int
opaque_close(Decoder *d)
{
    if (!d->opaque_open)
        return 0;
    d->opaque_open = 0;
    Buffer *out = &d->out;
    if (d->opaque_total == 0)   /* the reference set text '' */
        return BUFFER_LITERAL(out, "<![CDATA[]]>");
    if (d->carry_len == 0)
        return 0;
    unsigned int v = d->carry[0] << 16;
    if (d->carry_len == 2)
        v |= d->carry[1] << 8;
    char quad[4] = {base64_alphabet[v >> 18], base64_alphabet[(v >> 12) & 63],
                    d->carry_len == 2 ? base64_alphabet[(v >> 6) & 63] : '=', '='};
    d->carry_len = 0;
    return buffer_put(out, quad, 4);
}

/* Eight bytes at a time (SWAR): masks with 0x80 set in each byte that is a given value, or
 * below 0x20; exact for ASCII bytes, which is all they are used on. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
#define LOWS 0x7F7F7F7F7F7F7F7Full

static inline uint64_t
bytes_equal(uint64_t v, unsigned char value)
{
    uint64_t t = v ^ (ONES * value);
    return ~(((t & LOWS) + LOWS) | t | LOWS);
}

static inline uint64_t
bytes_below_space(uint64_t v)
{
    uint64_t t = v & (ONES * 0x60);   /* an ASCII byte is below 0x20 when bits 5 and 6 are 0 */
    return ~((t + LOWS) | LOWS);
}

static inline uint64_t
load8(const unsigned char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

/* True when none of the eight bytes needs a look of its own (non-ASCII, a control
 * character, or one of & < >). */
static inline int
chunk_is_plain(uint64_t v)
{
    return ((v & HIGHS) | bytes_below_space(v) | bytes_equal(v, '&') | bytes_equal(v, '<')
            | bytes_equal(v, '>')) == 0;
}

/* Check one string as the reference does (an undecodable string first, then a character
 * XML cannot carry) and count the character references escaping it will take. */
static int
scan_string(Decoder *d, const unsigned char *s, Py_ssize_t n, Py_ssize_t at,
            Py_ssize_t *references)
{
    int forbidden = 0;
    Py_ssize_t count = 0, i = 0;
    while (i < n) {
        if (i + 8 <= n && !(load8(s + i) & HIGHS)) {   /* eight ASCII bytes */
            uint64_t v = load8(s + i);
            uint64_t escaped = bytes_equal(v, '&') | bytes_equal(v, '<') | bytes_equal(v, '\r');
            uint64_t allowed = bytes_equal(v, '\t') | bytes_equal(v, '\n') | bytes_equal(v, '\r');
            count += (Py_ssize_t)(((escaped >> 7) * ONES) >> 56);   /* one per marked byte */
            forbidden |= (bytes_below_space(v) & ~allowed) != 0;
            i += 8;
            continue;
        }
        /* the next eight bytes (or the rest) one by one */
        Py_ssize_t stop = i + 8 <= n ? i + 8 : n;
        while (i < stop) {
            unsigned char c = s[i];
            if (c < 0x80) {
                unsigned char kind = ascii_class[c];
                count += kind == AMP || kind == LT || kind == CR;
                forbidden |= kind == FORBIDDEN;
                i++;
                continue;
            }
            if (d->charset == CHARSET_ASCII)
                return decode_error(at, "string is not valid %s", charset_names[d->charset]);
            if (d->charset == CHARSET_LATIN1) {
                i++;
                continue;
            }
            int length = utf8_sequence(s + i, n - i);
            if (length == 0)
                return decode_error(at, "string is not valid %s", charset_names[d->charset]);
            forbidden |= is_xml_nonchar(s + i, length);
            i += length;
        }
    }
    if (forbidden)
        return decode_error(at, "string holds a character XML cannot carry");
    *references = count;
    return 0;
}

/* A checked string, escaped into the XML text (latin-1 turned into UTF-8 on the way). */
static int
write_string(Buffer *out, const unsigned char *s, Py_ssize_t n, int charset)
{
    if (n == 0)   /* the reference set text '': an empty text node, not none */
        return BUFFER_LITERAL(out, "<![CDATA[]]>");
    if (buffer_reserve(out, 5 * n) < 0)   /* the longest escape, "&#13;", is 5 bytes */
        return -1;
    char *o = out->data + out->len;
    Py_ssize_t i = 0;
    Py_ssize_t stop = 0;
    while (i < n) {
        if (i >= stop) {
            if (i + 8 <= n && chunk_is_plain(load8(s + i))) {
                memcpy(o, s + i, 8);
                o += 8;
                i += 8;
                continue;
            }
            stop = i + 8;   /* the next eight bytes one by one */
        }
        unsigned char c = s[i++];
        if (c >= 0x80) {
            if (charset == CHARSET_LATIN1) {
                *o++ = (char)(0xC0 | (c >> 6));
                *o++ = (char)(0x80 | (c & 0x3F));
            }
            else
                *o++ = (char)c;   /* UTF-8, checked by scan_string */
            continue;
        }
        switch (ascii_class[c]) {
        case AMP:
            memcpy(o, "&amp;", 5);
            o += 5;
            break;
        case LT:
            memcpy(o, "&lt;", 4);
            o += 4;
            break;
        case CR:
            memcpy(o, "&#13;", 5);
            o += 5;
            break;
        case GT:
            /* '>' needs escaping only to keep "]]>" out of the text */
            if (o - out->data >= 2 && o[-1] == ']' && o[-2] == ']') {
                memcpy(o, "&gt;", 4);
                o += 4;
                break;
            }
            /* fall through */
        default:
            *o++ = (char)c;
        }
    }
    out->len = o - out->data;
    return 0;
}

/* Text is about to be added: to the parent's text, or to the tail of its last child. */
static int
begin_text(Decoder *d)
{
    if (d->run_open) {
        /* a second string in one run: the first one goes into the XML text after all */
        const unsigned char *held = d->run_held;
        d->run_held = NULL;
        return held == NULL ? 0 : write_string(&d->out, held, d->run_held_len, d->charset);
    }
    OpenElement *parent = &d->stack[d->depth - 1];
    if (close_start_tag(d) < 0)
        return -1;
    d->run_open = 1;
    d->run_held = NULL;
    d->run_is_tail = d->has_last;
    d->run_index = d->has_last ? d->last_index : parent->index;
    if (!d->has_last)
        parent->has_text = 1;
    return 0;
}

/* libxml2 spends about as long on one character reference as on 60 bytes of plain text;
 * lxml sets a text at about 2 ns a byte plus a fixed cost. A string is held out of the
 * XML text when its references outweigh that (Sync's HTML bodies, with CRLF line ends). */
#ifndef HELD_MIN_REFERENCES
#define HELD_MIN_REFERENCES 8
#endif
#define HELD_MAX_BYTES_PER_REFERENCE 32

static inline int
worth_holding(Py_ssize_t references, Py_ssize_t length)
{
    return references >= HELD_MIN_REFERENCES
           && length <= references * HELD_MAX_BYTES_PER_REFERENCE;
}

static int
end_text_run(Decoder *d)
{
    if (!d->run_open)
        return 0;
    d->run_open = 0;
    if (d->run_held == NULL)
        return 0;
    const char *held = (const char *)d->run_held;
    PyObject *text;
    if (d->charset == CHARSET_LATIN1)
        text = PyUnicode_DecodeLatin1(held, d->run_held_len, "strict");
    else
        text = PyUnicode_DecodeUTF8(held, d->run_held_len, "strict");
    d->run_held = NULL;
    PyObject *entry = text ? Py_BuildValue("(niN)", d->run_index, d->run_is_tail, text) : NULL;
    if (entry == NULL)
        return -1;
    if (d->held == NULL && (d->held = PyList_New(0)) == NULL) {
        Py_DECREF(entry);
        return -1;
    }
    int appended = PyList_Append(d->held, entry);
    Py_DECREF(entry);
    return appended;
}

static int
put_string(Decoder *d, const unsigned char *s, Py_ssize_t n, Py_ssize_t at)
{
    Py_ssize_t references = 0;
    int first = !d->run_open;
    if (scan_string(d, s, n, at, &references) < 0 || begin_text(d) < 0)
        return -1;
    if (first && worth_holding(references, n)) {
        d->run_held = s;
        d->run_held_len = n;
        return 0;
    }
    return write_string(&d->out, s, n, d->charset);
}

static int
put_code_point(Decoder *d, uint32_t code, Py_ssize_t at)
{
    unsigned char utf8[4];
    int length;
    if ((code < 0x80 && ascii_class[code] == FORBIDDEN) || code == 0xFFFE || code == 0xFFFF)
        return decode_error(at, "string holds a character XML cannot carry");
    if (code < 0x80) {
        utf8[0] = (unsigned char)code;
        length = 1;
    }
    else if (code < 0x800) {
        utf8[0] = 0xC0 | (code >> 6);
        utf8[1] = 0x80 | (code & 0x3F);
        length = 2;
    }
    else if (code < 0x10000) {
        utf8[0] = 0xE0 | (code >> 12);
        utf8[1] = 0x80 | ((code >> 6) & 0x3F);
        utf8[2] = 0x80 | (code & 0x3F);
        length = 3;
    }
    else {
        utf8[0] = 0xF0 | (code >> 18);
        utf8[1] = 0x80 | ((code >> 12) & 0x3F);
        utf8[2] = 0x80 | ((code >> 6) & 0x3F);
        utf8[3] = 0x80 | (code & 0x3F);
        length = 4;
    }
    if (begin_text(d) < 0)
        return -1;
    return write_string(&d->out, utf8, length, CHARSET_UTF8);
}

static int
global_token_error(unsigned char byte, Py_ssize_t pos)
{
    char fallback[8];
    const char *name = global_token_names[byte];
    if (name == NULL) {
        snprintf(fallback, sizeof fallback, "0x%02X", byte);
        name = fallback;
    }
    if (strncmp(name, "LITERAL", 7) == 0)
        return decode_error(pos, "%s tag: EAS names every tag by a code page token", name);
    return decode_error(pos, "%s token is not used by EAS", name);
}

static int
on_tag(Decoder *d, int page, unsigned char byte, Py_ssize_t pos)
{
    int token = byte & 0x3F;
    const TagName *tag = &pages[page]->tags[token];
    if (tag->qname == NULL)
        return decode_error(pos, "unknown tag token 0x%02X on code page %d (%s)",
                            token, page, pages[page]->name);
    if (byte & ATTRIBUTES_BIT)
        return decode_error(pos, "tag with attributes: EAS defines no attributes");
    if (d->depth == 0 && d->has_root)
        return decode_error(pos, "data after the end of the root element");
    if (end_text_run(d) < 0 || opaque_close(d) < 0 || close_start_tag(d) < 0)
        return -1;
    d->pages_used[page] = 1;
    Py_ssize_t index = d->element_count++;
    if (d->depth == 0) {   /* the root's start tag goes into the gap, at the end */
        d->has_root = 1;
        d->root_page = (unsigned char)page;
        d->root_token = (unsigned char)token;
    }
    else if (buffer_byte(&d->out, '<') < 0 || buffer_put(&d->out, tag->qname, tag->qname_len) < 0)
        return -1;
    if (!(byte & CONTENT_BIT)) {
        d->has_last = 1;
        d->last_index = index;
        return BUFFER_LITERAL(&d->out, "/>");
    }
    if (d->depth >= max_depth)
        return decode_error(pos, "elements nested deeper than %d", max_depth);
    OpenElement *element = &d->stack[d->depth++];
    element->page = (unsigned char)page;
    element->token = (unsigned char)token;
    element->has_text = 0;
    element->index = index;
    d->start_pending = 1;
    d->has_last = 0;
    return 0;
}

static int
on_end(Decoder *d, Py_ssize_t pos)
{
    if (d->depth == 0)
        return decode_error(pos, "END without an open element");
    if (end_text_run(d) < 0 || opaque_close(d) < 0)
        return -1;
    OpenElement *element = &d->stack[--d->depth];
    d->has_last = 1;
    d->last_index = element->index;
    if (d->start_pending) {
        d->start_pending = 0;
        return BUFFER_LITERAL(&d->out, "/>");
    }
    const TagName *tag = &pages[element->page]->tags[element->token];
    if (BUFFER_LITERAL(&d->out, "</") < 0 || buffer_put(&d->out, tag->qname, tag->qname_len) < 0)
        return -1;
    return buffer_byte(&d->out, '>');
}

/* The checks every string token makes before its text is added. */
static int
check_text_place(Decoder *d, Py_ssize_t pos)
{
    if (d->depth == 0)
        return decode_error(pos, "text outside the root element");
    if (d->stack[d->depth - 1].index == d->opaque_index)
        return decode_error(pos, "string mixed with opaque data in one element");
    return 0;
}

static int
on_inline_string(Decoder *d, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos;
    const unsigned char *start = d->data + at + 1;
    const unsigned char *nul = memchr(start, 0, (size_t)(d->size - at - 1));
    if (nul == NULL)
        return decode_error(at, "inline string without terminating NUL");
    if (check_text_place(d, at) < 0 || put_string(d, start, nul - start, at) < 0)
        return -1;
    *pos = nul - d->data + 1;
    return 0;
}

static int
on_table_string(Decoder *d, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos, after;
    uint32_t offset;
    if (read_mb_u_int32(d->data, d->size, at + 1, &offset, &after) < 0)
        return -1;
    if (check_text_place(d, at) < 0)
        return -1;
    if (offset >= d->strings_len)
        return decode_error(at, "string table offset %u out of range", offset);
    const unsigned char *start = d->strings + offset;
    const unsigned char *nul = memchr(start, 0, (size_t)(d->strings_len - offset));
    if (nul == NULL)
        return decode_error(at, "string table entry at %u has no terminating NUL", offset);
    if (put_string(d, start, nul - start, at) < 0)
        return -1;
    *pos = after;
    return 0;
}

static int
on_entity(Decoder *d, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos, after;
    uint32_t code;
    if (read_mb_u_int32(d->data, d->size, at + 1, &code, &after) < 0)
        return -1;
    if (check_text_place(d, at) < 0)
        return -1;
    if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return decode_error(at, "character entity %u is not a character", code);
    if (put_code_point(d, code, at) < 0)
        return -1;
    *pos = after;
    return 0;
}

static int
on_opaque(Decoder *d, Py_ssize_t *pos)
{
    Py_ssize_t at = *pos, start;
    uint32_t length;
    if (read_mb_u_int32(d->data, d->size, at + 1, &length, &start) < 0)
        return -1;
    if ((uint64_t)start + length > (uint64_t)d->size)
        return decode_error(at, "opaque data of %u bytes runs past the end", length);
    if (d->depth == 0)
        return decode_error(at, "opaque data outside the root element");
    if (d->has_last)
        return decode_error(at, "opaque data after a child element");
    OpenElement *parent = &d->stack[d->depth - 1];
    if (parent->has_text && parent->index != d->opaque_index)
        return decode_error(at, "opaque data mixed with a string in one element");
    if (!d->opaque_open) {
        /* Nothing came before in this element, so its start tag still waits for its '>'. */
        if (!d->start_pending) {
            PyErr_SetString(PyExc_SystemError, "opaque data after a closed start tag");
            return -1;
        }
        d->opaque_open = 1;
        d->carry_len = 0;
        d->opaque_total = 0;
        d->start_pending = 0;
        if (BUFFER_LITERAL(&d->out, " opaque=\"base64\">") < 0)
            return -1;
    }
    if (opaque_feed(d, d->data + start, length) < 0)
        return -1;
    parent->has_text = 1;
    d->opaque_index = parent->index;
    *pos = start + length;
    return 0;
}

static int
decode_body(Decoder *d)
{
    const unsigned char *data = d->data;
    Py_ssize_t size = d->size, pos = d->body_start;
    int page = 0;

    while (pos < size) {
        unsigned char byte = data[pos];
        if ((byte & 0x3F) >= 0x05) {
            if (on_tag(d, page, byte, pos) < 0)
                return -1;
            pos++;
        }
        else if (byte == STR_I) {
            if (on_inline_string(d, &pos) < 0)
                return -1;
        }
        else if (byte == END) {
            if (on_end(d, pos) < 0)
                return -1;
            pos++;
        }
        else if (byte == SWITCH_PAGE) {
            if (pos + 1 >= size)
                return decode_error(pos, "truncated SWITCH_PAGE");
            page = data[pos + 1];
            if (pages[page] == NULL)
                return decode_error(pos + 1, "unknown code page %d", page);
            pos += 2;
        }
        else if (byte == OPAQUE) {
            if (on_opaque(d, &pos) < 0)
                return -1;
        }
        else if (byte == STR_T) {
            if (on_table_string(d, &pos) < 0)
                return -1;
        }
        else if (byte == ENTITY) {
            if (on_entity(d, &pos) < 0)
                return -1;
        }
        else
            return global_token_error(byte, pos);
    }
    if (!d->has_root)
        return decode_error(size, "no root element");
    if (d->depth > 0)
        return decode_error(size, "truncated: %d element(s) still open", d->depth);
    return 0;
}

/* The root's start tag, with a namespace declaration for every code page used, written
 * right-aligned into the gap before the body. Returns where the document starts. */
static Py_ssize_t
write_root_start(Decoder *d)
{
    const TagName *tag = &pages[d->root_page]->tags[d->root_token];
    Py_ssize_t length = 1 + tag->qname_len;
    for (int page = 0; page < 256; page++)
        if (d->pages_used[page])
            length += pages[page]->declaration_len;
    char *o = d->out.data + root_gap - length;
    *o++ = '<';
    memcpy(o, tag->qname, (size_t)tag->qname_len);
    o += tag->qname_len;
    for (int page = 0; page < 256; page++)
        if (d->pages_used[page]) {
            memcpy(o, pages[page]->declaration, (size_t)pages[page]->declaration_len);
            o += pages[page]->declaration_len;
        }
    return root_gap - length;
}

static PyObject *
speedups_to_xml(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    if (max_depth < 0) {
        PyErr_SetString(PyExc_RuntimeError, "protocol.wbxml._speedups.setup() was not called");
        return NULL;
    }
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Decoder *d = PyMem_Calloc(1, sizeof(Decoder));
    if (d == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    d->data = view.buf;
    d->size = view.len;
    d->opaque_index = -1;
    PyObject *result = NULL;
    if (read_header(d) < 0)
        goto done;
    if (buffer_reserve(&d->out, root_gap + d->size + d->size / 2 + 64) < 0)
        goto done;
    memset(d->out.data, ' ', (size_t)root_gap);   /* so that no "]]" is seen before the body */
    d->out.len = root_gap;
    if (decode_body(d) < 0)
        goto done;
    Py_ssize_t start = write_root_start(d);
    PyObject *xml = PyBytes_FromStringAndSize(d->out.data + start, d->out.len - start);
    if (xml != NULL)
        result = Py_BuildValue("(NO)", xml, d->held ? d->held : Py_None);
done:
    Py_XDECREF(d->held);
    buffer_free(&d->out);
    PyMem_Free(d);
    PyBuffer_Release(&view);
    return result;
}

static const xmlNode *
first_element(const xmlNode *node)
{
    while (node != NULL && node->type != XML_ELEMENT_NODE)
        node = node->next;
    return node;
}

/* The first ``count`` elements under ``root`` (itself first), in document order. */
static Py_ssize_t
elements_in_order(const xmlNode *root, xmlNode **elements, Py_ssize_t count)
{
    Py_ssize_t n = 0;
    const xmlNode *node = root;
    while (node != NULL && n < count) {
        elements[n++] = (xmlNode *)node;
        const xmlNode *next = first_element(node->children);
        while (next == NULL && node != root) {
            next = first_element(node->next);
            node = node->parent;
        }
        node = next;
    }
    return n;
}

static PyObject *
speedups_fill_texts(PyObject *module, PyObject *args)
{
    PyObject *root_object, *held;
    if (!PyArg_ParseTuple(args, "OO!:fill_texts", &root_object, &PyList_Type, &held))
        return NULL;
    Py_ssize_t count = 0, n = PyList_GET_SIZE(held);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t index;
        int is_tail;
        PyObject *text;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(held, i), "npU", &index, &is_tail, &text))
            return NULL;
        if (index < 0) {
            PyErr_SetString(PyExc_ValueError, "a negative element index");
            return NULL;
        }
        if (index >= count)
            count = index + 1;
    }
    if (n == 0)
        Py_RETURN_NONE;
    struct LxmlElement *root = rootNodeOrRaise(root_object);
    if (root == NULL)
        return NULL;
    xmlNode **elements = PyMem_Calloc((size_t)count, sizeof(xmlNode *));
    PyObject *result = NULL;
    if (elements == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (elements_in_order(root->_c_node, elements, count) < count) {
        PyErr_SetString(PyExc_ValueError, "fewer elements than the texts name");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *entry = PyList_GET_ITEM(held, i);
        xmlNode *element = elements[PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, 0))];
        PyObject *text = PyTuple_GET_ITEM(entry, 2);
        int set = PyObject_IsTrue(PyTuple_GET_ITEM(entry, 1)) ? setTailText(element, text)
                                                              : setNodeText(element, text);
        if (set < 0)
            goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(elements);
    Py_DECREF((PyObject *)root);
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* Encoding: an lxml tree -> WBXML                                                       */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    Buffer out;
    int page;
    xmlNode *root;
} Encoder;

static uint64_t
hash_name(const char *ns, const char *local)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)ns; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0xFF) * 1099511628211ull;       /* 0xFF never occurs in UTF-8 */
    for (const unsigned char *p = (const unsigned char *)local; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static const EncodeEntry *
lookup_tag(const xmlNode *node)
{
    if (node->ns == NULL || node->ns->href == NULL)
        return NULL;
    const char *ns = (const char *)node->ns->href, *local = (const char *)node->name;
    for (size_t i = hash_name(ns, local) & encode_mask;; i = (i + 1) & encode_mask) {
        const EncodeEntry *entry = &encode_slots[i];
        if (entry->ns == NULL)
            return NULL;
        if (strcmp(entry->local, local) == 0 && strcmp(entry->ns, ns) == 0)
            return entry;
    }
}

/* "/AirSync:Sync/AirSync:Collections/Foo:Bar", as the reference's _path names an element:
 * each step is the code page (the namespace without its trailing colons) and the name. */
static PyObject *
element_path(const xmlNode *node)
{
    PyObject *steps = PyList_New(0), *path = NULL;
    if (steps == NULL)
        return NULL;
    for (; node != NULL && node->type == XML_ELEMENT_NODE; node = node->parent) {
        Py_ssize_t page_length = 0;
        const char *href = "";
        if (node->ns != NULL && node->ns->href != NULL) {
            href = (const char *)node->ns->href;
            page_length = (Py_ssize_t)strlen(href);
            while (page_length > 0 && href[page_length - 1] == ':')
                page_length--;
        }
        PyObject *step;
        if (page_length > 0) {
            PyObject *page = PyUnicode_DecodeUTF8(href, page_length, "strict");
            step = page ? PyUnicode_FromFormat("%U:%s", page, node->name) : NULL;
            Py_XDECREF(page);
        }
        else
            step = PyUnicode_FromString((const char *)node->name);
        if (step == NULL || PyList_Append(steps, step) < 0) {
            Py_XDECREF(step);
            goto done;
        }
        Py_DECREF(step);
    }
    if (PyList_Reverse(steps) < 0)
        goto done;
    PyObject *separator = PyUnicode_FromString("/");
    if (separator == NULL)
        goto done;
    PyObject *joined = PyUnicode_Join(separator, steps);
    if (joined != NULL)
        path = PyUnicode_Concat(separator, joined);
    Py_DECREF(separator);
    Py_XDECREF(joined);
done:
    Py_DECREF(steps);
    return path;
}

static int
raise_encode_error(const xmlNode *node, PyObject *reason)
{
    PyObject *path = reason ? element_path(node) : NULL;
    if (path != NULL) {
        PyObject *error = PyObject_CallFunctionObjArgs(encode_error_class, path, reason, NULL);
        if (error != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(error), error);
            Py_DECREF(error);
        }
    }
    Py_XDECREF(path);
    Py_XDECREF(reason);
    return -1;
}

static int
encode_error(const xmlNode *node, const char *reason)
{
    return raise_encode_error(node, PyUnicode_FromString(reason));
}

/* A run of text: consecutive text and CDATA nodes, as lxml's .text and .tail read them
 * (XInclude markers inside a run are passed over, anything else ends it). */
typedef struct {
    const xmlNode *first;   /* NULL: no text at all (None) */
    Py_ssize_t length;      /* bytes of UTF-8 over the whole run */
} TextRun;

static inline int
is_text_node(const xmlNode *node)
{
    return node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE;
}

static TextRun
text_run(const xmlNode *node)
{
    TextRun run = {NULL, 0};
    for (; node != NULL; node = node->next) {
        if (is_text_node(node)) {
            if (run.first == NULL)
                run.first = node;
            if (node->content != NULL)
                run.length += (Py_ssize_t)strlen((const char *)node->content);
        }
        else if (node->type != XML_XINCLUDE_START && node->type != XML_XINCLUDE_END)
            break;
    }
    return run;
}

#define FOR_EACH_RUN_NODE(run, node)                                                     \
    for (const xmlNode *node = (run).first;                                              \
         node != NULL && (is_text_node(node) || node->type == XML_XINCLUDE_START         \
                          || node->type == XML_XINCLUDE_END);                            \
         node = node->next)                                                              \
        if (is_text_node(node) && node->content != NULL)

/* Python's str.isspace() over the run: true for a non-empty run of whitespace only. */
static int
run_is_space(TextRun run)
{
    if (run.length == 0)
        return 0;
    FOR_EACH_RUN_NODE(run, node) {
        const unsigned char *s = node->content;
        Py_ssize_t n = (Py_ssize_t)strlen((const char *)s);
        for (Py_ssize_t i = 0; i < n;) {
            Py_UCS4 c = s[i];
            int length = utf8_sequence(s + i, n - i);
            if (length == 0)
                return 0;
            if (length == 2)
                c = ((s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F);
            else if (length == 3)
                c = ((s[i] & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
            else if (length == 4)
                c = ((s[i] & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12)
                    | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
            if (!Py_UNICODE_ISSPACE(c))
                return 0;
            i += length;
        }
    }
    return 1;
}

static int
put_inline_string(Buffer *out, TextRun run)
{
    if (buffer_reserve(out, run.length + 2) < 0)
        return -1;
    out->data[out->len++] = STR_I;
    FOR_EACH_RUN_NODE(run, node) {
        size_t n = strlen((const char *)node->content);
        memcpy(out->data + out->len, node->content, n);
        out->len += (Py_ssize_t)n;
    }
    out->data[out->len++] = 0;
    return 0;
}

static int
put_mb_u_int32(Buffer *out, uint32_t value)
{
    unsigned char bytes[5];
    int n = 0;
    do {
        bytes[4 - n] = (unsigned char)((value & 0x7F) | (n ? 0x80 : 0));
        value >>= 7;
        n++;
    } while (value);
    return buffer_put(out, (const char *)bytes + 5 - n, n);
}

/* Text after an element (or a comment) inside the document, unless it is only layout. */
static int
put_tail(Encoder *e, const xmlNode *node)
{
    TextRun tail = text_run(node->next);
    if (tail.length == 0 || run_is_space(tail))
        return 0;
    return put_inline_string(&e->out, tail);
}

static int
attribute_is(const xmlAttr *attribute, const char *value)
{
    size_t matched = 0, length = strlen(value);
    for (const xmlNode *node = attribute->children; node != NULL; node = node->next) {
        if (node->content == NULL)
            continue;
        size_t n = strlen((const char *)node->content);
        if (matched + n > length || memcmp(value + matched, node->content, n) != 0)
            return 0;
        matched += n;
    }
    return matched == length;
}

/* 1 when the element is marked as opaque, 0 when it has no attributes, -1 (raised) when it
 * has any other attribute. */
static int
check_attributes(const xmlNode *node)
{
    const xmlAttr *attribute = node->properties;
    if (attribute == NULL)
        return 0;
    for (; attribute != NULL; attribute = attribute->next) {
        int marker = attribute->ns == NULL && strcmp((const char *)attribute->name, "opaque") == 0
                     && attribute_is(attribute, "base64");
        if (marker)
            continue;
        PyObject *name;
        if (attribute->ns != NULL && attribute->ns->href != NULL)
            name = PyUnicode_FromFormat("{%s}%s", attribute->ns->href, attribute->name);
        else
            name = PyUnicode_FromString((const char *)attribute->name);
        if (name == NULL)
            return -1;
        PyObject *reason = PyUnicode_FromFormat("attribute %R: EAS documents carry none", name);
        Py_DECREF(name);
        return raise_encode_error(node, reason);
    }
    return 1;
}

/* base64.b64decode(text, validate=True) of Python 3.11, into the output: returns -1 with
 * nothing raised when the text is not base64 that strict mode accepts. */
static int
put_opaque(Buffer *out, TextRun run)
{
    Py_ssize_t data = 0, padding = 0;
    FOR_EACH_RUN_NODE(run, node) {
        for (const unsigned char *p = node->content; *p; p++) {
            if (*p == '=') {
                if (data == 0)
                    return -1;   /* leading padding */
                padding++;
            }
            else if (base64_value[*p] < 0 || padding > 0)
                return -1;       /* not base64, or data after padding */
            else
                data++;
        }
    }
    int rest = (int)(data % 4);
    int valid = (rest == 0) || (rest == 2 && padding == 2) || (rest == 3 && padding == 1);
    if (!valid)
        return -1;
    Py_ssize_t length = data / 4 * 3 + (rest ? rest - 1 : 0);
    if (length > 0xFFFFFFFFLL)
        return -1;
    if (buffer_byte(out, OPAQUE) < 0 || put_mb_u_int32(out, (uint32_t)length) < 0
        || buffer_reserve(out, length + 3) < 0)
        return -2;
    unsigned int bits = 0;
    int count = 0;
    FOR_EACH_RUN_NODE(run, node) {
        for (const unsigned char *p = node->content; *p && *p != '='; p++) {
            bits = (bits << 6) | (unsigned int)base64_value[*p];
            if (++count == 4) {
                out->data[out->len++] = (char)(bits >> 16);
                out->data[out->len++] = (char)(bits >> 8);
                out->data[out->len++] = (char)bits;
                bits = 0;
                count = 0;
            }
        }
    }
    if (count == 2)
        out->data[out->len++] = (char)(bits >> 4);
    else if (count == 3) {
        out->data[out->len++] = (char)(bits >> 10);
        out->data[out->len++] = (char)(bits >> 2);
    }
    return 0;
}

static int
has_element_like_child(const xmlNode *node)
{
    /* what len(element) counts */
    for (const xmlNode *child = node->children; child != NULL; child = child->next)
        if (child->type == XML_ELEMENT_NODE || child->type == XML_COMMENT_NODE
            || child->type == XML_PI_NODE || child->type == XML_ENTITY_REF_NODE)
            return 1;
    return 0;
}

static int encode_element(Encoder *e, const xmlNode *node, int depth);

static int
encode_children(Encoder *e, const xmlNode *node, int depth)
{
    for (const xmlNode *child = node->children; child != NULL; child = child->next) {
        switch (child->type) {
        case XML_ELEMENT_NODE:
            if (encode_element(e, child, depth + 1) < 0)
                return -1;
            break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            if (put_tail(e, child) < 0)
                return -1;
            break;
        case XML_ENTITY_REF_NODE:
            return raise_encode_error(node, PyUnicode_FromFormat(
                "entity reference &%s;: EAS documents carry none", child->name));
        default:
            break;
        }
    }
    return 0;
}

static int
encode_element(Encoder *e, const xmlNode *node, int depth)
{
    Buffer *out = &e->out;
    const EncodeEntry *entry = lookup_tag(node);
    if (entry == NULL)
        return encode_error(node, node->ns == NULL ? "tag has no code-page namespace"
                                                   : "no MS-ASWBXML code page holds this tag");
    if (depth >= max_depth)
        return raise_encode_error(node, PyUnicode_FromFormat("nested deeper than %d", max_depth));
    if (entry->page != e->page) {
        if (buffer_byte(out, SWITCH_PAGE) < 0 || buffer_byte(out, entry->page) < 0)
            return -1;
        e->page = entry->page;
    }
    TextRun text = text_run(node->children);
    int has_children = has_element_like_child(node);
    if (has_children && run_is_space(text))
        text.length = 0;   /* indentation between child elements */
    int opaque = check_attributes(node);
    int has_content;
    if (opaque < 0)
        return -1;
    if (opaque) {
        if (buffer_byte(out, entry->token | CONTENT_BIT) < 0)
            return -1;
        int written = put_opaque(out, text_run(node->children));
        if (written == -1)
            return encode_error(node, "opaque content is not valid base64");
        if (written < 0)
            return -1;
        has_content = 1;
    }
    else if (text.length > 0 || has_children) {
        if (buffer_byte(out, entry->token | CONTENT_BIT) < 0)
            return -1;
        if (text.length > 0 && put_inline_string(out, text) < 0)
            return -1;
        has_content = 1;
    }
    else {
        if (buffer_byte(out, entry->token) < 0)
            return -1;
        has_content = 0;
    }
    if (encode_children(e, node, depth) < 0)
        return -1;
    if (has_content && buffer_byte(out, END) < 0)
        return -1;
    if (node != e->root)
        return put_tail(e, node);
    return 0;
}

static PyObject *
speedups_encode(PyObject *module, PyObject *arg)
{
    static const char header[] = {0x03, 0x01, 0x6A, 0x00};
    if (max_depth < 0) {
        PyErr_SetString(PyExc_RuntimeError, "protocol.wbxml._speedups.setup() was not called");
        return NULL;
    }
    struct LxmlElement *root = rootNodeOrRaise(arg);
    if (root == NULL)
        return NULL;
    Encoder e = {{0}, 0, root->_c_node};
    PyObject *result = NULL;
    if (buffer_put(&e.out, header, sizeof header) == 0
        && encode_element(&e, root->_c_node, 0) == 0)
        result = PyBytes_FromStringAndSize(e.out.data, e.out.len);
    buffer_free(&e.out);
    Py_DECREF((PyObject *)root);
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* setup() and the module                                                                */
/* ------------------------------------------------------------------------------------ */

static char *
copy_text(PyObject *text, Py_ssize_t *length)
{
    Py_ssize_t n;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &n);
    if (utf8 == NULL)
        return NULL;
    char *copy = PyMem_Malloc((size_t)n + 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, utf8, (size_t)n + 1);
    if (length != NULL)
        *length = n;
    return copy;
}

static char *
format_text(const char *format, const char *a, const char *b, Py_ssize_t *length)
{
    PyObject *text = PyUnicode_FromFormat(format, a, b);
    if (text == NULL)
        return NULL;
    char *copy = copy_text(text, length);
    Py_DECREF(text);
    return copy;
}

static int
setup_page(int number, PyObject *name, PyObject *tags)
{
    Page *page = PyMem_Calloc(1, sizeof(Page));
    if (page == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    pages[number] = page;
    page->name = copy_text(name, NULL);
    if (page->name == NULL)
        return -1;
    page->declaration = format_text(" xmlns:%s=\"%s:\"", page->name, page->name,
                                    &page->declaration_len);
    if (page->declaration == NULL)
        return -1;
    PyObject *token, *tag;
    Py_ssize_t i = 0;
    while (PyDict_Next(tags, &i, &token, &tag)) {
        long t = PyLong_AsLong(token);
        if (t < 0x05 || t > 0x3F || !PyUnicode_Check(tag)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "a tag token outside 0x05-0x3F");
            return -1;
        }
        TagName *slot = &page->tags[t];
        slot->qname = format_text("%s:%s", page->name, PyUnicode_AsUTF8(tag), &slot->qname_len);
        if (slot->qname == NULL)
            return -1;
    }
    return 0;
}

static int
setup_encode_table(PyObject *table)
{
    Py_ssize_t count = PyDict_Size(table);
    size_t size = 16;
    while (size < (size_t)count * 4)
        size *= 2;
    encode_slots = PyMem_Calloc(size, sizeof(EncodeEntry));
    if (encode_slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    encode_mask = size - 1;
    PyObject *clark, *place;
    Py_ssize_t i = 0;
    while (PyDict_Next(table, &i, &clark, &place)) {
        int page, token;
        if (!PyArg_ParseTuple(place, "ii", &page, &token))
            return -1;
        char *name = copy_text(clark, NULL);
        if (name == NULL)
            return -1;
        char *close = strchr(name, '}');
        if (name[0] != '{' || close == NULL) {
            PyMem_Free(name);
            PyErr_Format(PyExc_ValueError, "%R is not a namespaced tag", clark);
            return -1;
        }
        *close = '\0';
        size_t slot = hash_name(name + 1, close + 1) & encode_mask;
        while (encode_slots[slot].ns != NULL)
            slot = (slot + 1) & encode_mask;
        /* one allocation holds both strings: ns points into it, local after its NUL */
        encode_slots[slot].ns = name + 1;
        encode_slots[slot].local = close + 1;
        encode_slots[slot].page = (unsigned char)page;
        encode_slots[slot].token = (unsigned char)token;
    }
    return 0;
}

static PyObject *
speedups_setup(PyObject *module, PyObject *args)
{
    PyObject *page_names, *tags, *encode_table, *global_tokens, *decode_error, *encode_error;
    int depth;
    if (!PyArg_ParseTuple(args, "O!O!O!O!iOO:setup", &PyDict_Type, &page_names,
                          &PyDict_Type, &tags, &PyDict_Type, &encode_table,
                          &PyDict_Type, &global_tokens, &depth, &decode_error, &encode_error))
        return NULL;
    if (max_depth >= 0) {
        PyErr_SetString(PyExc_RuntimeError, "setup() runs once");
        return NULL;
    }
    if (depth < 1 || depth > DEPTH_CAPACITY) {
        PyErr_SetString(PyExc_ValueError, "max_depth out of range");
        return NULL;
    }
    PyObject *number, *name;
    Py_ssize_t i = 0, longest_qname = 0, all_declarations = 0;
    while (PyDict_Next(page_names, &i, &number, &name)) {
        long n = PyLong_AsLong(number);
        PyObject *page_tags = PyDict_GetItem(tags, number);
        if (n < 0 || n > 255 || page_tags == NULL || !PyDict_Check(page_tags)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "page numbers and tags do not match");
            return NULL;
        }
        if (setup_page((int)n, name, page_tags) < 0)
            return NULL;
        all_declarations += pages[n]->declaration_len;
        for (int t = 0; t < 64; t++)
            if (pages[n]->tags[t].qname_len > longest_qname)
                longest_qname = pages[n]->tags[t].qname_len;
    }
    root_gap = 1 + longest_qname + all_declarations;
    if (setup_encode_table(encode_table) < 0)
        return NULL;
    PyObject *byte, *token_name;
    i = 0;
    while (PyDict_Next(global_tokens, &i, &byte, &token_name)) {
        long b = PyLong_AsLong(byte);
        if (b < 0 || b > 255) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "a global token outside a byte");
            return NULL;
        }
        if ((global_token_names[b] = copy_text(token_name, NULL)) == NULL)
            return NULL;
    }
    Py_INCREF(decode_error);
    Py_INCREF(encode_error);
    decode_error_class = decode_error;
    encode_error_class = encode_error;
    max_depth = depth;
    Py_RETURN_NONE;
}

static PyMethodDef speedups_methods[] = {
    {"setup", speedups_setup, METH_VARARGS,
     "setup(page_names, tags, encode_table, global_tokens, max_depth, WBXMLError, "
     "WBXMLEncodeError): the tables, once"},
    {"to_xml", speedups_to_xml, METH_O,
     "to_xml(body) -> (xml, texts): an EAS WBXML body as XML text and the texts left out "
     "of it; raises WBXMLError"},
    {"fill_texts", speedups_fill_texts, METH_VARARGS,
     "fill_texts(root, texts): set the texts to_xml left out of the XML text"},
    {"encode", speedups_encode, METH_O,
     "encode(element) -> bytes: an lxml tree as EAS WBXML; raises WBXMLEncodeError"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "protocol.wbxml._speedups",
    "The WBXML codec's hot loops in C; see protocol.wbxml.fast.", -1, speedups_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (import_lxml__etree() < 0)
        return NULL;
    init_character_tables();
    init_base64_value();
    return PyModule_Create(&speedups_module);
}
