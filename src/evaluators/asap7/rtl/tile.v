// gem_tile: ${TR} x ${TC} PEs chained combinationally: a (and last) across a row, the b and d
// chains down a column.
module gem_tile (input clk, input rst, input ws, input preload, input last,
  input [${TR}*${IB}-1:0] in_a, input [${TC}*${BW}-1:0] in_b, input [${TC}*${DW}-1:0] in_d,
  output [${TR}*${IB}-1:0] out_a, output out_last,
  output [${TC}*${BW}-1:0] out_b, output [${TC}*${DW}-1:0] out_d);
  localparam TR = ${TR}, TC = ${TC}, IB = ${IB}, BW = ${BW}, DW = ${DW};
  assign out_a = in_a;
  assign out_last = last;
  wire [TR*TC*BW-1:0] bb;
  wire [TR*TC*DW-1:0] dd;
  genvar r, c;
  generate
    for (r = 0; r < TR; r = r + 1) begin : row
      for (c = 0; c < TC; c = c + 1) begin : col
        wire [BW-1:0] b_in;
        wire [DW-1:0] d_in;
        if (r == 0) begin : first
          assign b_in = in_b[c*BW +: BW];
          assign d_in = in_d[c*DW +: DW];
        end else begin : below
          assign b_in = bb[((r-1)*TC+c)*BW +: BW];
          assign d_in = dd[((r-1)*TC+c)*DW +: DW];
        end
        gem_pe pe (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .last(last),
          .in_a(in_a[r*IB +: IB]), .in_b(b_in), .in_d(d_in),
          .out_b(bb[(r*TC+c)*BW +: BW]), .out_d(dd[(r*TC+c)*DW +: DW]));
      end
    end
    for (c = 0; c < TC; c = c + 1) begin : out
      assign out_b[c*BW +: BW] = bb[((TR-1)*TC+c)*BW +: BW];
      assign out_d[c*DW +: DW] = dd[((TR-1)*TC+c)*DW +: DW];
    end
  endgenerate
endmodule
